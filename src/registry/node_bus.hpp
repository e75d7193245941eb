// Internal: a registry node's own NATS connection, as its request handlers use it: subscribe,
// publish, answer. The one place in the node's request path that calls nats.c.
#pragma once

#include <nats/nats.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/logging.hpp"
#include "transport/nats_handles.hpp"
#include "transport/subscription.hpp"

namespace polaris::detail {

/// A message as a handler sees it; its views are valid during the handler only.
struct Inbound {
  std::string_view subject;
  const char* reply = nullptr;  ///< the reply subject; null when it has none
  std::string_view body;

  /// The reply subject; empty when it has none.
  [[nodiscard]] std::string reply_subject() const { return reply != nullptr ? reply : ""; }
};

/// Thread safety: publishing and answering may be done from any thread; subscribe(),
/// unsubscribe_all() and close() are called by the node's owner (start-up and shutdown).
class NodeBus {
 public:
  using Handler = std::function<void(const Inbound&)>;

  NodeBus(NatsConnectionPtr connection, Logger log);
  NodeBus(const NodeBus&) = delete;
  NodeBus& operator=(const NodeBus&) = delete;

  /// The connection, for the parts that speak NATS themselves (peer sync, observer).
  [[nodiscard]] natsConnection* get() const noexcept { return connection_.get(); }

  /// Subscribes `handler` (with queue group `queue` unless empty) until unsubscribe_all().
  void subscribe(std::string_view subject, const char* queue, Handler handler);
  /// A subscription the caller owns.
  [[nodiscard]] Subscription subscription(std::string_view subject, const char* queue,
                                          Handler handler);

  /// Publishes `body` on `subject`; a failure is logged (the next keepalive or retry repairs).
  void publish(const std::string& subject, const std::string& body);
  /// Publishes `body` asking for answers on `reply` (a plain publish when `reply` is empty).
  void publish_request(const std::string& subject, const std::string& reply,
                       const std::string& body);
  /// Answers `message` on its reply subject; nothing when it has none.
  void respond(const Inbound& message, const std::string& body);

  /// The server's max payload in bytes.
  [[nodiscard]] std::size_t max_payload() const;
  /// The largest reply a handler should build: the max payload less room for headers.
  [[nodiscard]] std::size_t max_reply_bytes() const;
  /// Waits until the server processed everything sent so far.
  /// @throws Error when it does not answer within 5 seconds.
  void flush(const char* what);

  /// Ends every subscription made with subscribe(); each waits until its handler can no
  /// longer run.
  void unsubscribe_all();
  /// Closes the connection.
  void close();

 private:
  NatsConnectionPtr connection_;
  Logger log_;
  std::vector<Subscription> subscriptions_;
};

/// A token unique to this process, for subjects only this node subscribes to.
std::string unique_token();

}  // namespace polaris::detail
