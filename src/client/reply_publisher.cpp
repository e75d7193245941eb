#include "client/reply_publisher.hpp"

#include <spdlog/spdlog.h>

#include "polaris/json.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"
#include "transport/publish.hpp"

namespace polaris::detail {
namespace {

constexpr std::size_t kMaxErrorHeader = 512;  // the body carries the whole message

// A header value: one line, at most kMaxErrorHeader bytes, not cut inside a UTF-8 character.
std::string header_value(std::string text) {
  for (char& c : text) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  if (text.size() > kMaxErrorHeader) {
    std::size_t end = kMaxErrorHeader;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) --end;
    text.resize(end);
  }
  return text;
}

// The ADR-32 code of an error reply: what went wrong, in HTTP terms as NATS tooling shows it.
const char* service_error_code(std::string_view message, std::string_view status) {
  if (status == wire::kBusyStatus) return "503";
  if (message.starts_with("invalid request") || message.starts_with("invalid arguments")) {
    return "400";
  }
  if (message.starts_with("no such tool")) return "404";
  if (message.starts_with("the caller's deadline passed")) return "408";
  return "500";
}

}  // namespace

std::optional<ReplyPublisher::ServiceError> ReplyPublisher::service_error(const std::string& body,
                                                                          std::string_view status) {
  // Error replies are built by wire::ErrorReply; only bodies that start like one are parsed.
  if (!std::string_view(body).starts_with(wire::ErrorReply::text_prefix())) return std::nullopt;
  const auto error = wire::ErrorReply::from_json(Json::parse(body, nullptr, false));
  if (!error) return std::nullopt;
  return ServiceError{header_value(error->message), service_error_code(error->message, status)};
}

void ReplyPublisher::publish(const std::string& subject, const std::string& body,
                             std::string_view status, const char* extra_name,
                             const char* extra_value) {
  Headers headers{{wire::kAgentHeader, agent_id_}};
  if (!status.empty()) headers.emplace_back(wire::kStatusHeader, status);
  if (const auto error = service_error(body, status)) {
    headers.emplace_back(wire::kServiceErrorHeader, error->description);
    headers.emplace_back(wire::kServiceErrorCodeHeader, error->code);
  }
  if (extra_name != nullptr) headers.emplace_back(extra_name, extra_value);
  const natsStatus code = detail::publish(connection_, subject, {}, body, headers);
  if (code != NATS_OK) {
    log_->warn("cannot send a reply on {}: {}", subject, status_text(code));
  }
}

void ReplyPublisher::reply(const std::string& subject, const std::string& body,
                           std::string_view status) {
  publish(subject, body, status, nullptr, nullptr);
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  while (!recent_.empty() &&
         (recent_.front().at < now - kWindow || recent_.size() >= kMaxRemembered ||
          recent_bytes_ + body.size() > kMaxRememberedBytes)) {
    recent_bytes_ -= recent_.front().body->size();
    recent_.pop_front();
  }
  if (body.size() > kMaxRememberedBytes) return;
  recent_bytes_ += body.size();
  recent_.push_back({now, subject, std::make_shared<const std::string>(body), std::string(status)});
}

void ReplyPublisher::ack(const std::string& subject, bool idempotent) {
  publish(subject, {}, wire::kAcceptedStatus, wire::kIdempotentHeader, idempotent ? "1" : "0");
}

void ReplyPublisher::on_disconnected() {
  const auto since = Clock::now() - kWindow;
  std::lock_guard lock(mutex_);
  for (auto& sent : recent_) {
    if (sent.at >= since) to_resend_.push_back(std::move(sent));
  }
  recent_.clear();
  recent_bytes_ = 0;
}

std::vector<std::string> ReplyPublisher::on_reconnected() {
  std::vector<Sent> resend;
  std::vector<std::string> subjects;
  {
    std::lock_guard lock(mutex_);
    resend.swap(to_resend_);
    // recent_ was emptied at the disconnect: it holds what was sent since.
    for (const auto& sent : recent_) subjects.push_back(sent.subject);
  }
  for (const auto& sent : resend) subjects.push_back(sent.subject);
  if (!resend.empty()) {
    log_->debug("re-sending {} repl{} sent just before the disconnect", resend.size(),
                resend.size() == 1 ? "y" : "ies");
  }
  for (const auto& sent : resend) publish(sent.subject, *sent.body, sent.status, nullptr, nullptr);
  return subjects;
}

}  // namespace polaris::detail
