// Internal: how a registry node keeps the other nodes' catalogues in step with its own:
// replication events out (claims, releases, departures) and in, their confirmations, and the
// sweep that announces gone agents.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/json.hpp"
#include "registry/catalogue.hpp"
#include "registry/claim_window.hpp"
#include "registry/node_bus.hpp"
#include "registry/node_context.hpp"
#include "registry/peer_sync.hpp"

namespace polaris::detail {

/// Thread safety: all methods may be called from any thread (handlers run on nats.c delivery
/// threads, the sweep on the node's timer).
class Replication {
 public:
  using Clock = std::chrono::steady_clock;

  Replication(const NodeContext& node, PeerSync& sync, ClaimWindow& window);
  Replication(const Replication&) = delete;
  Replication& operator=(const Replication&) = delete;

  /// Where peers confirm this node's events: subscribe to it + "*" and hand them to on_applied.
  [[nodiscard]] const std::string& applied_prefix() const noexcept { return applied_prefix_; }

  /// Replicates claims to the other nodes in as many events as the max payload requires (a
  /// batch registration or keepalive that fits one request can exceed it once stamped).
  /// Returns the write whose confirmations to wait for (0: none).
  std::uint64_t publish_claims(std::string_view op, const std::vector<Claim>& claims);
  /// Publishes replication events, each asking every peer to confirm it applied it. Returns the
  /// write whose confirmations to wait for (0: no live peer to wait for).
  std::uint64_t replicate(const std::vector<std::string>& bodies);
  /// Tells each agent that lost a tool to a newer claim.
  void publish_revocations(const std::vector<Catalogue::Revocation>& revoked);

  /// Another node applied a change: replays it here, then confirms it.
  void on_event(const Inbound& message);
  /// Applies one replication event (also those PeerSync held back while synchronising).
  void apply_event(const Json& event);
  /// A peer confirmed one of this node's events.
  void on_applied(const Inbound& message);

  /// Withdraws silent or departed agents and lapsed tools, and announces gone agents.
  void sweep(Clock::time_point now);
  /// An agent's leave is being applied: its gone announcement says it left on purpose.
  void mark_leaving(const std::string& agent);
  /// Whether `agent` was marked leaving (and forgets it).
  bool left_on_purpose(const std::string& agent);

 private:
  void apply_claims(const std::string& op, const Json& event, Clock::time_point now);

  NodeContext node_;
  PeerSync& sync_;
  ClaimWindow& window_;
  std::string applied_prefix_;
  std::mutex leaving_mutex_;
  std::set<std::string> leaving_;  // guarded by leaving_mutex_: leaves being applied
};

}  // namespace polaris::detail
