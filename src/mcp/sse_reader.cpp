#include "mcp/sse_reader.hpp"

#include <algorithm>

namespace polaris::mcp::detail {

void SseReader::feed(std::string_view bytes) {
  for (const char c : bytes) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') continue;
    }
    if (c == '\r' || c == '\n') {
      skip_lf_ = c == '\r';
      line(buffer_);
      buffer_.clear();
    } else {
      buffer_ += c;
      if (buffer_.size() + pending_.data.size() > max_event_) {
        buffer_ = std::string();
        pending_ = SseMessage{};
        throw polaris::detail::message_too_large("an SSE event", max_event_);
      }
    }
  }
}

void SseReader::line(std::string_view text) {
  if (text.empty()) {
    if (has_data_ || pending_.has_id) {
      if (!pending_.data.empty() && pending_.data.back() == '\n') pending_.data.pop_back();
      if (has_data_ && on_event_) on_event_(pending_);
    }
    const std::string last_id = pending_.id;
    const bool had_id = pending_.has_id;
    pending_ = SseMessage{};
    // The last event id persists across events (spec); we report it per event.
    if (had_id) pending_.id = last_id;
    has_data_ = false;
    return;
  }
  if (text[0] == ':') return;
  const auto colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  if (field == "data") {
    pending_.data.append(value).append("\n");
    has_data_ = true;
  } else if (field == "event") {
    pending_.event = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      pending_.id = std::string(value);
      pending_.has_id = true;
    }
  } else if (field == "retry") {
    if (!value.empty() && value.size() < 10 &&
        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (on_retry_) on_retry_(std::stol(std::string(value)));
    }
  }
}

}  // namespace polaris::mcp::detail
