// http/sse.hpp - an incremental Server-Sent Events parser (WHATWG event-stream format), for the
// LLM providers' streams and the MCP client transports (which also need ids and `retry:`).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/message_limit.hpp"

namespace polaris::http {

struct SseEvent {
  std::string event;  ///< "" when the stream gave no `event:` field ("message" by the spec)
  std::string data;   ///< data lines joined with '\n'
  /// The last event id: an `id:` field persists into the events after it (spec); "" when the
  /// stream has given none yet (or an empty one).
  std::string id;
  bool has_id = false;  ///< the stream has given an `id:` field so far
};

/// Feed it bytes in any split; it calls `on_event` once per complete event (a blank line ends
/// one). Lines may end in \n, \r\n or \r. Comment lines (":...") are ignored, and so is an `id:`
/// holding a NUL (spec).
/// Thread safety: none (one stream, one thread).
class SseParser {
 public:
  using Callback = std::function<void(const SseEvent&)>;
  /// Called with each valid `retry:` field (a reconnection time in milliseconds, ASCII digits).
  using RetryCallback = std::function<void(long milliseconds)>;
  /// `max_event`: the most bytes one event may hold (its data and the line being read), so that
  /// a server streaming an endless line or event cannot make us buffer without end.
  explicit SseParser(Callback on_event, std::size_t max_event = polaris::detail::kMaxMessageBytes)
      : SseParser(std::move(on_event), RetryCallback(), max_event) {}
  SseParser(Callback on_event, RetryCallback on_retry,
            std::size_t max_event = polaris::detail::kMaxMessageBytes)
      : on_event_(std::move(on_event)), on_retry_(std::move(on_retry)), max_event_(max_event) {}

  /// @throws Error(Errc::payload_too_large) once an event grows past max_event; the stream
  ///         cannot be read on after that.
  void feed(std::string_view bytes);
  /// Dispatches an event left without its closing blank line (some servers end that way; the
  /// spec drops it, so MCP transports do not call this).
  void finish();

 private:
  void line(std::string_view text);
  void field(std::string_view name, std::string_view value);
  void dispatch();

  Callback on_event_;
  RetryCallback on_retry_;
  std::size_t max_event_;
  std::string buffer_;
  bool skip_lf_ = false;  // the previous chunk ended in \r: a leading \n belongs to it
  SseEvent pending_;
  bool has_data_ = false;
};

}  // namespace polaris::http
