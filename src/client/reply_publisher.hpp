// Internal: how an agent sends acknowledgements and replies, and re-sends recent replies after
// a reconnect.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/logging.hpp"

namespace polaris::detail {

/// Publishes replies and acks carrying Polaris-Agent; an error reply ({"_error": ...}) also
/// carries the ADR-32 Nats-Service-Error and Nats-Service-Error-Code headers. Replies sent during
/// the last second are
/// remembered: a reply published just before a disconnect may have died with the node, so the
/// replies of that last second are published again once the connection is back (callers drop
/// replies they no longer wait for).
///
/// Thread safety: all methods may be called from any thread. Never throws.
class ReplyPublisher {
 public:
  using Clock = std::chrono::steady_clock;

  ReplyPublisher(natsConnection* connection, std::string agent_id, Logger log)
      : connection_(connection), agent_id_(std::move(agent_id)), log_(std::move(log)) {}

  /// A final reply; `status` (e.g. "busy") goes into Polaris-Status when not empty.
  void reply(const std::string& subject, const std::string& body, std::string_view status = {});
  /// An acknowledgement: an empty message with Polaris-Status: accepted.
  void ack(const std::string& subject, bool idempotent);

  /// The ADR-32 error headers of a reply body, when it is an error reply.
  struct ServiceError {
    std::string description;
    const char* code;
  };
  static std::optional<ServiceError> service_error(const std::string& body,
                                                   std::string_view status);

  /// The connection dropped: keeps the replies of the last second for on_reconnected().
  void on_disconnected();
  /// The connection is back: publishes them again. Returns the reply subjects of the replies
  /// that may have been lost: those, and the ones sent while the connection was down (which
  /// nats.c buffered and sent on the new connection, where NATS permissions may refuse them).
  std::vector<std::string> on_reconnected();

 private:
  struct Sent {
    Clock::time_point at;
    std::string subject;
    std::shared_ptr<const std::string> body;
    std::string status;
  };
  static constexpr auto kWindow = std::chrono::seconds(1);
  static constexpr std::size_t kMaxRemembered = 4096;
  static constexpr std::size_t kMaxRememberedBytes = std::size_t{16} * 1024 * 1024;

  void publish(const std::string& subject, const std::string& body, std::string_view status,
               const char* extra_name, const char* extra_value);

  natsConnection* connection_;
  const std::string agent_id_;
  Logger log_;
  std::mutex mutex_;
  std::deque<Sent> recent_;       // oldest first, at most kWindow old, kMaxRemembered long
  std::size_t recent_bytes_ = 0;  // and kMaxRememberedBytes large
  std::vector<Sent> to_resend_;
};

}  // namespace polaris::detail
