// Internal: splitting a byte stream into lines.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace polaris::detail {

/// Collects bytes read from a pipe or socket and hands out complete lines.
/// Thread safety: none; one reader owns it.
class LineBuffer {
 public:
  /// Appends `bytes` and calls `on_line(std::string_view)` for each complete line, without its
  /// "\n" or a "\r" before it.
  template <typename OnLine>
  void append(std::string_view bytes, OnLine&& on_line) {
    pending_.append(bytes);
    std::size_t start = 0;
    for (auto newline = pending_.find('\n'); newline != std::string::npos;
         newline = pending_.find('\n', start)) {
      std::string_view line(pending_.data() + start, newline - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      on_line(line);
      start = newline + 1;
    }
    pending_.erase(0, start);
  }

  /// The bytes after the last newline (an unterminated last line), leaving the buffer empty.
  std::string take_rest() { return std::exchange(pending_, {}); }

 private:
  std::string pending_;
};

}  // namespace polaris::detail
