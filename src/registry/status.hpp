// Internal: a registry node's status (answered on polaris.registry.status; see docs/OPERATIONS.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "polaris/json.hpp"
#include "registry/peer_tracker.hpp"

namespace polaris::detail {

/// Every registry node answers requests on this subject (plain subscription: all nodes answer).
inline constexpr std::string_view kStatusSubject = "polaris.registry.status";

/// What does not change while a node runs.
struct NodeFacts {
  std::string name;  ///< configured server name; empty: nats-server's own
  std::string client_url;
  std::string cluster_url;
  std::string cluster_name;
  std::string monitoring_url;  ///< nats-server's HTTP monitoring endpoint; empty: none
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  std::chrono::steady_clock::time_point started_steady = std::chrono::steady_clock::now();
};

/// What the catalogue says at the moment of the request.
struct CatalogueCounts {
  std::size_t tools = 0;
  std::size_t agents = 0;
  std::size_t merges = 0;  ///< peer catalogues merged into this one since it started
};

/// The status object: node, server_id, version, nats_server_version, client_url, cluster_url,
/// cluster, started, uptime_s, tools, agents, catalogue_merges, monitoring, peers [{id, name,
/// address, rtt, up, left, last_seen}], peers_up.
Json build_status(const NodeFacts& facts, const PeerTracker::View& peers,
                  const CatalogueCounts& counts);

}  // namespace polaris::detail
