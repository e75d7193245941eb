#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "polaris/error.hpp"
#include "process/child_process.hpp"

namespace polaris::detail {

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {  // mkdtemp creates it with mode 0700
    throw Error(Errc::process, "cannot create a temporary directory from " + pattern);
  }
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace polaris::detail
