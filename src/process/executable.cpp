#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "process/child_process.hpp"

namespace polaris::detail {

std::string find_executable(const std::string& name) {
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 ? name : std::string{};
  }
  const char* path_env = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read-only use
  std::string search = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  search += ":/usr/local/sbin:/usr/sbin:/sbin";
  std::istringstream dirs(search);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

}  // namespace polaris::detail
