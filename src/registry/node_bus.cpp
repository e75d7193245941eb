#include "registry/node_bus.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>

#include "transport/message.hpp"
#include "transport/nats_error.hpp"

namespace polaris::detail {

NodeBus::NodeBus(NatsConnectionPtr connection, Logger log)
    : connection_(std::move(connection)), log_(std::move(log)) {}

Subscription NodeBus::subscription(std::string_view subject, const char* queue, Handler handler) {
  return Subscription(connection_.get(), std::string(subject), queue,
                      [handler = std::move(handler)](NatsMsgPtr msg) {
                        const char* name = natsMsg_GetSubject(msg.get());
                        handler(Inbound{.subject = name != nullptr ? name : "",
                                        .reply = natsMsg_GetReply(msg.get()),
                                        .body = message_body(msg.get())});
                      });
}

void NodeBus::subscribe(std::string_view subject, const char* queue, Handler handler) {
  subscriptions_.push_back(subscription(subject, queue, std::move(handler)));
}

void NodeBus::publish(const std::string& subject, const std::string& body) {
  const natsStatus status = natsConnection_Publish(connection_.get(), subject.c_str(), body.data(),
                                                   static_cast<int>(body.size()));
  if (status != NATS_OK) {
    log_->error("cannot publish on {}: {}", subject, natsStatus_GetText(status));
  }
}

void NodeBus::publish_request(const std::string& subject, const std::string& reply,
                              const std::string& body) {
  // nats.c refuses a request without a reply subject: nothing to answer is a plain publish.
  const natsStatus status =
      reply.empty()
          ? natsConnection_Publish(connection_.get(), subject.c_str(), body.data(),
                                   static_cast<int>(body.size()))
          : natsConnection_PublishRequest(connection_.get(), subject.c_str(), reply.c_str(),
                                          body.data(), static_cast<int>(body.size()));
  if (status != NATS_OK) {
    log_->error("cannot publish on {}: {}", subject, natsStatus_GetText(status));
  }
}

void NodeBus::respond(const Inbound& message, const std::string& body) {
  if (message.reply == nullptr || *message.reply == '\0') return;
  publish(message.reply, body);
}

std::size_t NodeBus::max_payload() const {
  return static_cast<std::size_t>(
      std::max<std::int64_t>(0, natsConnection_GetMaxPayload(connection_.get())));
}

std::size_t NodeBus::max_reply_bytes() const {
  return static_cast<std::size_t>(std::max<std::int64_t>(
      4096, static_cast<std::int64_t>(natsConnection_GetMaxPayload(connection_.get())) - 1024));
}

void NodeBus::flush(const char* what) {
  check_nats(natsConnection_FlushTimeout(connection_.get(), 5000), what);
}

void NodeBus::unsubscribe_all() { subscriptions_.clear(); }

void NodeBus::close() {
  if (connection_) natsConnection_Close(connection_.get());
  connection_.reset();
}

std::string unique_token() {
  natsInbox* raw = nullptr;
  check_nats(natsInbox_Create(&raw), "cannot make a unique subject");
  const std::string inbox(raw);
  natsInbox_Destroy(raw);
  const auto dot = inbox.rfind('.');
  return dot == std::string::npos ? inbox : inbox.substr(dot + 1);
}

}  // namespace polaris::detail
