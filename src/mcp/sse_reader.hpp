// mcp/sse_reader.hpp - Server-Sent Events parsing with the fields MCP needs (id, retry).
//
// Internal. The HTTP client's parser (http/sse.hpp) drops `retry:`, which MCP's resumability uses,
// so the MCP transports carry their own small one.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/message_limit.hpp"

namespace polaris::mcp::detail {

struct SseMessage {
  std::string event;  ///< "" means "message"
  std::string data;
  std::string id;  ///< "" when the event had no id field
  bool has_id = false;
};

/// Incremental parser; feed bytes in any split. Thread safety: none (one stream, one thread).
class SseReader {
 public:
  using OnEvent = std::function<void(const SseMessage&)>;
  using OnRetry = std::function<void(long milliseconds)>;
  /// `max_event`: the most bytes one event may hold (its data and the line being read), so that
  /// a server streaming an endless line or event cannot make us buffer without end.
  SseReader(OnEvent on_event, OnRetry on_retry,
            std::size_t max_event = polaris::detail::kMaxMessageBytes)
      : on_event_(std::move(on_event)), on_retry_(std::move(on_retry)), max_event_(max_event) {}
  /// @throws Error(Errc::payload_too_large) once an event grows past max_event; the stream
  ///         cannot be read on after that.
  void feed(std::string_view bytes);

 private:
  void line(std::string_view text);
  OnEvent on_event_;
  OnRetry on_retry_;
  std::size_t max_event_;
  std::string buffer_;
  bool skip_lf_ = false;
  SseMessage pending_;
  bool has_data_ = false;
};

}  // namespace polaris::mcp::detail
