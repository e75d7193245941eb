#include "client/call_context.hpp"

#include "polaris/json.hpp"
#include "protocol/wire.hpp"
#include "transport/publish.hpp"

namespace polaris {

std::optional<std::chrono::milliseconds> Request::remaining() const {
  if (context_ == nullptr || !context_->deadline) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*context_->deadline -
                                                               std::chrono::steady_clock::now());
}

const std::vector<std::string>& Request::chain() const {
  static const std::vector<std::string> none;  // immutable
  return context_ == nullptr ? none : context_->chain;
}

bool Request::cancelled() const {
  if (context_ == nullptr) return false;
  if (context_->closing != nullptr && context_->closing->load()) return true;
  return context_->deadline && std::chrono::steady_clock::now() >= *context_->deadline;
}

namespace {

// Progress and log messages are advisory: a failure to encode or send one never fails the call.
void notify(const Request::Context* context, Json message) {
  if (context == nullptr) return;
  if (context->local_progress) {
    try {
      context->local_progress(message);
    } catch (...) {  // NOLINT(bugprone-empty-catch): the caller's callback must not fail the tool
    }
    return;
  }
  if (context->connection == nullptr || context->progress_subject.empty()) return;
  std::string body;
  try {
    body = message.dump();
  } catch (const std::exception&) {  // invalid UTF-8 in a string
    body = message.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  // Marked, because the progress subject may be the call's reply subject (docs/PROTOCOL.md).
  (void)detail::publish(context->connection, context->progress_subject, {}, body,
                        {{wire::kStatusHeader, std::string(wire::kProgressStatus)}});
}

bool wants_notifications(const Request::Context* context) {
  return context != nullptr && (context->local_progress || (context->connection != nullptr &&
                                                            !context->progress_subject.empty()));
}

}  // namespace

void Request::progress(double done, std::optional<double> total, std::string_view message) const {
  if (!wants_notifications(context_)) return;
  Json notification{{"progress", done}};
  if (total) notification["total"] = *total;
  if (!message.empty()) notification["message"] = message;
  notify(context_, std::move(notification));
}

void Request::log(std::string_view level, const Json& data, std::string_view logger) const {
  if (!wants_notifications(context_)) return;
  Json entry{{"level", level}, {"data", data}};
  if (!logger.empty()) entry["logger"] = logger;
  notify(context_, Json{{"log", std::move(entry)}});
}

}  // namespace polaris
