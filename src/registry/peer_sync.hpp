// Internal: how a registry node learns the catalogue from its peers before it serves.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "registry/catalogue.hpp"

namespace polaris::detail {

/// Node heartbeats, the start-up copy of the catalogue, and the replication events that arrive
/// while the copy is being made (held, then replayed in order).
///
/// Thread safety: all methods may be called from any thread.
class PeerSync {
 public:
  struct Peer {
    std::string node;
    bool synced = false;
    std::size_t tools = 0;
    std::chrono::steady_clock::time_point last_heard;
  };

  PeerSync(natsConnection* connection, std::string node_id, Catalogue& catalogue,
           StampClock& stamps, Logger log);

  /// Copies the catalogue page by page from a node that has it. Returns when done, when every
  /// peer heard of is itself starting, or after `timeout` without any answer (alone).
  void synchronise(std::chrono::milliseconds timeout);
  /// Replays the held events through `apply`; from now on events are not held.
  void mark_synced(const std::function<void(const Json&)>& apply);
  /// Holds `event` (returns true) while the node is not synced yet.
  bool hold_until_synced(const Json& event);

  void publish_node_heartbeat(std::size_t tools);
  void on_node_heartbeat(std::string_view body);
  /// Peers heard within the last `within`.
  [[nodiscard]] std::vector<Peer> peers(std::chrono::milliseconds within) const;

 private:
  enum class Attempt { done, retry, alone };
  Attempt copy_from_peer(std::string& after);

  natsConnection* connection_;
  std::string node_id_;
  Catalogue& catalogue_;
  StampClock& stamps_;
  Logger log_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool synced_ = false;
  std::vector<Json> held_;
  std::map<std::string, Peer> peers_;
};

}  // namespace polaris::detail
