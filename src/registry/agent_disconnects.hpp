// Internal: crashed agents told from nats-server's disconnect events (docs/ARCHITECTURE.md,
// "Liveness").
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "client/timer.hpp"
#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "transport/subscription.hpp"

namespace polaris::detail {

/// Watches the system account's $SYS.ACCOUNT.*.CONNECT and .DISCONNECT events for polaris
/// agents (their connection names carry their agent ids, wire::agent_connection_name) and
/// reports an agent as crashed when its connection closed the way a dying process closes it
/// and it did not connect again within `grace`.
///
/// A disconnect is not always a crash:
/// - an agent whose node dies reconnects to another node; the dead node sends no event, and the
///   new connection's CONNECT event marks the agent as moved;
/// - a node that hung (SIGSTOP) reports the agent's old connection closed after the agent has
///   long moved to another node: a DISCONNECT of a connection other than the agent's latest
///   known one is ignored;
/// - nats-server closing a connection itself (slow consumer, missed pings, its own shutdown)
///   says nothing about the agent's process, which reconnects: only "Client Closed", "Read
///   Error" and "Write Error" count; heartbeats decide the rest.
/// Under authentication an agent id "<user>.<random>" counts only when the event's user is that
/// user, so that nobody can make another user's agent vanish by naming a connection after it.
///
/// Thread safety: events arrive on the subscriptions' delivery threads, `on_crash` runs on the
/// watcher's timer thread; destroy the watcher before what `on_crash` uses.
class AgentDisconnects {
 public:
  using OnCrash = std::function<void(const std::string& agent, const std::string& reason)>;

  /// Subscribes on `system` (a connection of the system account). `grace` must be positive.
  AgentDisconnects(natsConnection* system, std::chrono::milliseconds grace, OnCrash on_crash,
                   Logger log);
  ~AgentDisconnects();
  AgentDisconnects(const AgentDisconnects&) = delete;
  AgentDisconnects& operator=(const AgentDisconnects&) = delete;

  /// The user of nats-server's no_auth_user (SystemAccount::anonymous), which names no agent.
  static constexpr const char* kAnonymousUser = "_polaris_anonymous";

 private:
  /// One client connection of one nats-server.
  struct ConnectionId {
    std::string server;
    std::uint64_t client = 0;
    bool operator==(const ConnectionId&) const = default;
  };
  /// An agent's connection from an event, or nothing when the event names no agent we may act on.
  struct Event {
    std::string agent;
    ConnectionId connection;
    std::string reason;
  };
  std::optional<Event> parse(const Json& event) const;
  void on_connect(const Json& event);
  void on_disconnect(const Json& event);
  void expire(const std::string& agent, const std::string& reason);

  /// Bounds the agents remembered: connections whose node died send no DISCONNECT.
  static constexpr std::size_t kMaxRemembered = std::size_t{1} << 17;

  const std::chrono::milliseconds grace_;
  OnCrash on_crash_;
  Logger log_;
  std::mutex mutex_;
  std::map<std::string, ConnectionId> latest_;  // agent -> its latest connection we heard of
  std::map<std::string, Timer::Id> pending_;    // agent -> its check after the grace period
  Timer timer_;
  Subscription connects_;
  Subscription disconnects_;
};

}  // namespace polaris::detail
