// remote-log/tail.hpp - the last lines of a file under a root folder, safely.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace remote_log {

struct Limits {
  std::size_t max_lines = 1000;        ///< more lines than this are never returned
  std::size_t max_bytes = 256 * 1024;  ///< only this much of the file's end is read
};

struct Tail {
  std::vector<std::string> lines;
  bool truncated = false;  ///< the byte window cut the file: older lines may be missing
};

/// Returns the last `count` lines of `root/name`. `name` must stay inside `root` once symbolic
/// links are resolved (no absolute paths, no "..", no links pointing out), and name a regular file.
/// @throws std::runtime_error with a one-line message otherwise, or when reading fails.
Tail tail_lines(
    const std::filesystem::path& root, const std::string& name, std::size_t count,
    const Limits& limits = {}
);

}  // namespace remote_log
