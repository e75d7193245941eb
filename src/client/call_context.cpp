#include "client/call_context.hpp"

#include "polaris/json.hpp"

namespace polaris {

std::optional<std::chrono::milliseconds> Request::remaining() const {
  if (context_ == nullptr || !context_->deadline) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*context_->deadline -
                                                               std::chrono::steady_clock::now());
}

bool Request::cancelled() const {
  if (context_ == nullptr) return false;
  if (context_->closing != nullptr && context_->closing->load()) return true;
  return context_->deadline && std::chrono::steady_clock::now() >= *context_->deadline;
}

void Request::progress(double done, std::optional<double> total, std::string_view message) const {
  if (context_ == nullptr || context_->connection == nullptr ||
      context_->progress_subject.empty()) {
    return;
  }
  Json notification{{"progress", done}};
  if (total) notification["total"] = *total;
  if (!message.empty()) notification["message"] = message;
  std::string body;
  try {
    body = notification.dump();
  } catch (const std::exception&) {  // invalid UTF-8 in the message: drop the text
    notification.erase("message");
    body = notification.dump();
  }
  // Best effort by design: progress is advisory, a failed publish must not fail the call.
  (void)natsConnection_Publish(context_->connection, context_->progress_subject.c_str(),
                               body.data(), static_cast<int>(body.size()));
}

}  // namespace polaris
