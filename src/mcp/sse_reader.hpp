// mcp/sse_reader.hpp - Server-Sent Events parsing with the fields MCP needs (id, retry).
//
// Internal. The HTTP client's parser (http/sse.hpp) drops `retry:`, which MCP's resumability uses,
// so the MCP transports carry their own small one.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

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
  SseReader(OnEvent on_event, OnRetry on_retry)
      : on_event_(std::move(on_event)), on_retry_(std::move(on_retry)) {}
  void feed(std::string_view bytes);

 private:
  void line(std::string_view text);
  OnEvent on_event_;
  OnRetry on_retry_;
  std::string buffer_;
  bool skip_lf_ = false;
  SseMessage pending_;
  bool has_data_ = false;
};

}  // namespace polaris::mcp::detail
