#include "registry/status.hpp"

#include "common/rfc3339.hpp"
#include "polaris/version.hpp"

namespace polaris::detail {

Json build_status(const NodeFacts& facts, const PeerTracker::View& peers,
                  const CatalogueCounts& counts) {
  Json peer_list = Json::array();
  std::size_t up = 0;
  for (const auto& peer : peers.peers) {
    if (peer.up) ++up;
    peer_list.push_back({{"id", peer.id},
                         {"name", peer.name},
                         {"address", peer.address},
                         {"rtt", peer.rtt},
                         {"up", peer.up},
                         {"left", peer.left},
                         {"last_seen", rfc3339(peer.last_seen)}});
  }
  const auto uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - facts.started_steady);
  Json status{
      {"node", !facts.name.empty()          ? facts.name
               : !peers.server_name.empty() ? peers.server_name
                                            : peers.server_id},
      {"server_id", peers.server_id},
      {"version", std::string(version())},
      {"nats_server_version", peers.nats_version},
      {"client_url", facts.client_url},
      {"cluster_url", facts.cluster_url},
      {"cluster", facts.cluster_name},
      {"started", rfc3339(facts.started)},
      {"uptime_s", uptime.count()},
      {"tools", counts.tools},
      {"agents", counts.agents},
      {"catalogue_merges", counts.merges},
      {"monitoring", peers.available},
      {"peers", std::move(peer_list)},
      {"peers_up", up},
  };
  if (!peers.available) status["monitoring_problem"] = peers.problem;
  return status;
}

}  // namespace polaris::detail
