// http/sse.cpp
#include "http/sse.hpp"

namespace polaris::http {

void SseParser::feed(std::string_view bytes) {
  for (const char c : bytes) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') continue;
    }
    if (c == '\r' || c == '\n') {
      skip_lf_ = (c == '\r');
      line(buffer_);
      buffer_.clear();
    } else {
      buffer_ += c;
      if (buffer_.size() + pending_.data.size() > max_event_) {
        buffer_ = std::string();
        pending_ = SseEvent{};
        throw polaris::detail::message_too_large("an SSE event", max_event_);
      }
    }
  }
}

void SseParser::finish() {
  if (!buffer_.empty()) {
    line(buffer_);
    buffer_.clear();
  }
  dispatch();
}

void SseParser::line(std::string_view text) {
  if (text.empty()) {
    dispatch();
    return;
  }
  if (text.front() == ':') return;
  const auto colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) pending_.data += '\n';
    pending_.data += value;
    has_data_ = true;
  } else if (field == "event") {
    pending_.event = std::string(value);
  } else if (field == "id") {
    pending_.id = std::string(value);
  }
}

void SseParser::dispatch() {
  if (has_data_) on_event_(pending_);
  pending_ = SseEvent{};
  has_data_ = false;
}

}  // namespace polaris::http
