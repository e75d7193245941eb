// http/sse.hpp - an incremental Server-Sent Events parser (WHATWG event-stream format).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/message_limit.hpp"

namespace polaris::http {

struct SseEvent {
  std::string event;  ///< "" when the stream gave no `event:` field ("message" by the spec)
  std::string data;   ///< data lines joined with '\n'
  std::string id;
};

/// Feed it bytes in any split; it calls `on_event` once per complete event (a blank line ends
/// one). Lines may end in \n, \r\n or \r. Comment lines (":...") are ignored.
/// Thread safety: none (one stream, one thread).
class SseParser {
 public:
  using Callback = std::function<void(const SseEvent&)>;
  /// `max_event`: the most bytes one event may hold (its data and the line being read), so that
  /// a server streaming an endless line or event cannot make us buffer without end.
  explicit SseParser(Callback on_event, std::size_t max_event = polaris::detail::kMaxMessageBytes)
      : on_event_(std::move(on_event)), max_event_(max_event) {}

  /// @throws Error(Errc::payload_too_large) once an event grows past max_event; the stream
  ///         cannot be read on after that.
  void feed(std::string_view bytes);
  /// Dispatches an event left without its closing blank line (some servers end that way).
  void finish();

 private:
  void line(std::string_view text);
  void dispatch();

  Callback on_event_;
  std::size_t max_event_;
  std::string buffer_;
  bool skip_lf_ = false;  // the previous chunk ended in \r: a leading \n belongs to it
  SseEvent pending_;
  bool has_data_ = false;
};

}  // namespace polaris::http
