// remote-log/tail.cpp
#include "tail.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace remote_log {
namespace fs = std::filesystem;

namespace {

// True when `path` is `root` or below it (both canonical).
bool is_within(const fs::path& root, const fs::path& path) {
  const auto [r, p] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return r == root.end();
}

}  // namespace

Tail tail_lines(
    const fs::path& root, const std::string& name, std::size_t count, const Limits& limits
) {
  if (name.empty() || name.find('\0') != std::string::npos)
    throw std::runtime_error("no file name");
  const fs::path relative(name);
  if (relative.is_absolute() || relative.has_root_name()) {
    throw std::runtime_error("file must be relative to the log folder: " + name);
  }
  for (const auto& part : relative) {
    if (part == "..") throw std::runtime_error("file must not leave the log folder: " + name);
  }
  std::error_code ec;
  const fs::path base = fs::canonical(root, ec);
  if (ec) throw std::runtime_error("log folder not found: " + root.string());
  // canonical() resolves symbolic links, so a link pointing outside is caught here too.
  const fs::path target = fs::canonical(base / relative, ec);
  if (ec) throw std::runtime_error("no such log file: " + name);
  if (!is_within(base, target))
    throw std::runtime_error("file must not leave the log folder: " + name);
  if (!fs::is_regular_file(target, ec)) throw std::runtime_error("not a regular file: " + name);

  count = std::min(count, limits.max_lines);
  Tail tail;
  if (count == 0) return tail;
  std::ifstream in(target, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + name);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(in.tellg());
  const std::size_t window = std::min(size, limits.max_bytes);
  in.seekg(static_cast<std::streamoff>(size - window));
  std::string text(window, '\0');
  in.read(text.data(), static_cast<std::streamsize>(window));
  text.resize(static_cast<std::size_t>(in.gcount()));

  std::size_t start = 0;
  if (window < size) {
    // The window began inside a line: drop that fragment.
    const auto newline = text.find('\n');
    start = newline == std::string::npos ? text.size() : newline + 1;
    tail.truncated = true;
  }
  std::vector<std::string> lines;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.emplace_back(text, start, end - start);
    start = end + 1;
  }
  if (lines.size() > count) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(count));
    tail.truncated = false;  // enough lines were in the window
  }
  tail.lines = std::move(lines);
  return tail;
}

}  // namespace remote_log
