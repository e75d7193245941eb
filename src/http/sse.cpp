// http/sse.cpp
#include "http/sse.hpp"

#include <algorithm>

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
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  field(text.substr(0, colon), value);
}

void SseParser::field(std::string_view name, std::string_view value) {
  if (name == "data") {
    if (has_data_) pending_.data += '\n';
    pending_.data += value;
    has_data_ = true;
  } else if (name == "event") {
    pending_.event = std::string(value);
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) {
      pending_.id = std::string(value);
      pending_.has_id = true;
    }
  } else if (name == "retry") {
    const bool digits =
        !value.empty() && value.size() < 10 &&
        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits && on_retry_) on_retry_(std::stol(std::string(value)));
  }
}

void SseParser::dispatch() {
  if (has_data_) on_event_(pending_);
  // The last event id persists across events (spec); the rest starts afresh.
  SseEvent next;
  next.id = std::move(pending_.id);
  next.has_id = pending_.has_id;
  pending_ = std::move(next);
  has_data_ = false;
}

}  // namespace polaris::http
