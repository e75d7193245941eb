// Internal: splitting a byte stream into lines.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "common/message_limit.hpp"

namespace polaris::detail {

/// Collects bytes read from a pipe or socket and hands out complete lines.
/// Thread safety: none; one reader owns it.
class LineBuffer {
 public:
  /// `max_line`: the longest line accepted (without its line end); a longer one, complete or
  /// still growing, makes append() throw, so a peer that never writes a newline cannot make us
  /// buffer without end.
  explicit LineBuffer(std::size_t max_line = std::numeric_limits<std::size_t>::max())
      : max_line_(max_line) {}

  /// Appends `bytes` and calls `on_line(std::string_view)` for each complete line, without its
  /// "\n" or a "\r" before it.
  /// @throws Error(Errc::payload_too_large) for a line longer than max_line; the buffer is then
  ///         emptied (the stream cannot be resynchronised, so the reader should stop).
  template <typename OnLine>
  void append(std::string_view bytes, OnLine&& on_line) {
    // Only the new bytes can hold a newline: searching from the start every time would make a
    // long line arriving in small reads quadratic.
    std::size_t search_from = pending_.size();
    pending_.append(bytes);
    std::size_t start = 0;
    for (auto newline = pending_.find('\n', search_from); newline != std::string::npos;
         newline = pending_.find('\n', start)) {
      std::string_view line(pending_.data() + start, newline - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() > max_line_) fail();
      on_line(line);
      start = newline + 1;
    }
    pending_.erase(0, start);
    // The unterminated rest may still end in the "\r" of a "\r\n".
    if (pending_.size() > max_line_ &&
        !(pending_.size() == max_line_ + 1 && pending_.back() == '\r')) {
      fail();
    }
  }

  /// The bytes after the last newline (an unterminated last line), leaving the buffer empty.
  std::string take_rest() { return std::exchange(pending_, {}); }

 private:
  [[noreturn]] void fail() {
    pending_ = std::string();  // frees the memory now
    throw message_too_large("a line", max_line_);
  }

  std::size_t max_line_;
  std::string pending_;
};

}  // namespace polaris::detail
