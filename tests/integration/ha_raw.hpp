// Test support for the high-availability tests: speaking the polaris extensions with raw nats.c
// (calls with headers, inboxes that see every message, playing the registry's side).
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "transport/message.hpp"
#include "transport/nats_error.hpp"
#include "transport/nats_handles.hpp"
#include "transport/subscription.hpp"

namespace polaris::test {

/// One message as a test keeps it.
struct Seen {
  std::string subject;
  std::string body;
  std::string status;  ///< Polaris-Status
  std::string agent;   ///< Polaris-Agent
  std::string idempotent;
  std::string call_id;
  std::string attempt;
  bool no_responders = false;

  [[nodiscard]] bool is_ack() const { return status == "accepted"; }
  [[nodiscard]] Json json() const { return Json::parse(body, nullptr, false); }
};

inline Seen seen_of(natsMsg* msg) {
  return {.subject = natsMsg_GetSubject(msg),
          .body = std::string(detail::message_body(msg)),
          .status = detail::message_header(msg, "Polaris-Status"),
          .agent = detail::message_header(msg, "Polaris-Agent"),
          .idempotent = detail::message_header(msg, "Polaris-Idempotent"),
          .call_id = detail::message_header(msg, "Polaris-Call-Id"),
          .attempt = detail::message_header(msg, "Polaris-Attempt"),
          .no_responders = natsMsg_IsNoResponders(msg)};
}

/// Collects every message on a subject (wildcards allowed), in arrival order.
class Collector {
 public:
  Collector(natsConnection* connection, const std::string& subject,
            std::function<void(natsMsg*)> also = {})
      : subscription_(connection, subject, "", [this, also](detail::NatsMsgPtr msg) {
          if (also) also(msg.get());
          std::lock_guard lock(mutex_);
          messages_.push_back(seen_of(msg.get()));
          cv_.notify_all();
        }) {
    detail::check_nats(natsConnection_Flush(connection), "flush");
  }

  [[nodiscard]] std::vector<Seen> all() const {
    std::lock_guard lock(mutex_);
    return {messages_.begin(), messages_.end()};
  }
  /// Waits until `count` messages arrived; false on timeout.
  bool await(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
  }
  /// Waits for the first message that is not an ack; nullopt on timeout.
  std::optional<Seen> await_reply(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    std::optional<Seen> reply;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& message : messages_) {
        if (!message.is_ack()) {
          reply = message;
          return true;
        }
      }
      return false;
    });
    return reply;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Seen> messages_;
  detail::Subscription subscription_;
};

/// Publishes a call as a polaris caller would, with `reply` as its reply subject.
inline void publish_call(natsConnection* connection, const std::string& subject,
                         const std::string& reply, const std::string& body,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  natsMsg* raw = nullptr;
  detail::check_nats(natsMsg_Create(&raw, subject.c_str(), reply.c_str(), body.data(),
                                    static_cast<int>(body.size())),
                     "create");
  detail::NatsMsgPtr msg(raw);
  for (const auto& [name, value] : headers) {
    detail::check_nats(natsMsgHeader_Set(raw, name.c_str(), value.c_str()), "header");
  }
  detail::check_nats(natsConnection_PublishMsg(connection, raw), "publish");
  detail::check_nats(natsConnection_Flush(connection), "flush");
}

/// Publishes `body` on `subject` (no reply expected).
inline void publish(natsConnection* connection, const std::string& subject, const Json& body) {
  const std::string text = body.dump();
  detail::check_nats(natsConnection_Publish(connection, subject.c_str(), text.data(),
                                            static_cast<int>(text.size())),
                     "publish");
  detail::check_nats(natsConnection_Flush(connection), "flush");
}

/// Answers every request on `subject` with what `answer` returns for its body.
class Responder {
 public:
  Responder(natsConnection* connection, const std::string& subject,
            std::function<Json(const Json& request)> answer)
      : subscription_(connection, subject, "",
                      [connection, answer = std::move(answer)](detail::NatsMsgPtr msg) {
                        const Json request =
                            Json::parse(detail::message_body(msg.get()), nullptr, false);
                        const std::string reply = answer(request).dump();
                        natsConnection_Publish(connection, natsMsg_GetReply(msg.get()),
                                               reply.data(), static_cast<int>(reply.size()));
                      }) {
    detail::check_nats(natsConnection_Flush(connection), "flush");
  }

 private:
  detail::Subscription subscription_;
};

}  // namespace polaris::test
