// Internal: how a registry node learns the catalogue from its peers before it serves.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "registry/catalogue.hpp"

namespace polaris::detail {

/// Node heartbeats, the start-up copy of the catalogue, and the replication events that arrive
/// while the copy is being made (held, then replayed in order).
///
/// Replication events are core NATS messages: a node can miss some (a route or its own
/// connection down for a moment, a slow consumer). Heartbeats carry the catalogue's digest; when
/// a peer's digest has differed from ours for kDivergenceGrace, a background thread merges that
/// peer's catalogue into ours (anti-entropy), at most once per kPullGap per peer. Both nodes do
/// it, so both converge: claims are claimed, releases travel as tombstones.
///
/// Thread safety: all methods may be called from any thread.
class PeerSync {
 public:
  struct Peer {
    std::string node;
    bool synced = false;
    std::size_t tools = 0;
    std::chrono::steady_clock::time_point last_heard;
    /// Since when its digest differs from ours (unset: the same, or not known).
    std::optional<std::chrono::steady_clock::time_point> differs_since;
    std::optional<std::chrono::steady_clock::time_point> last_pull;
  };

  /// How long a peer's digest must differ from ours before its catalogue is merged: events in
  /// flight and sweeps a moment apart make digests differ briefly.
  static constexpr std::chrono::seconds kDivergenceGrace{3};
  /// At most one merge from the same peer in this interval.
  static constexpr std::chrono::seconds kPullGap{10};

  PeerSync(natsConnection* connection, std::string node_id, Catalogue& catalogue,
           StampClock& stamps, Logger log);
  ~PeerSync();
  PeerSync(const PeerSync&) = delete;
  PeerSync& operator=(const PeerSync&) = delete;

  enum class Start {
    copied,       ///< from a peer that held the catalogue
    new_cluster,  ///< every peer heard of was starting too
    alone,        ///< no peer heard within the timeout
  };
  /// Copies the catalogue page by page from a node that has it. Returns when done, when every
  /// peer heard of is itself starting, or after `timeout` without any answer (alone).
  Start synchronise(std::chrono::milliseconds timeout);
  /// For a node that started alone although it expects peers: merge the catalogue of the first
  /// synced peer heard at once (not after kDivergenceGrace), then call `met` (on the merging
  /// thread). Until then the node's catalogue may miss what its peers hold.
  void await_peer(std::function<void()> met);
  /// Replays the held events through `apply`; from now on events are not held.
  void mark_synced(const std::function<void(const Json&)>& apply);
  /// Holds `event` (returns true) while the node is not synced yet.
  bool hold_until_synced(const Json& event);

  /// Publishes this node's heartbeat, with the catalogue's size and digest.
  void publish_node_heartbeat();
  /// Once synced, before serving: tells every peer at once that this node now holds the
  /// catalogue (a heartbeat as a request on the hello subject) and records their answers, so
  /// that from the first request it serves, this node and its peers wait for each other's
  /// confirmations (read-your-writes) without waiting for the next heartbeats.
  void introduce();
  /// A peer introduces itself (`body`): record it and answer with our heartbeat on `reply` (may
  /// be null).
  void on_hello(std::string_view body, const char* reply);
  void on_node_heartbeat(std::string_view body);
  /// How many merges from peers this node made since it started.
  [[nodiscard]] std::size_t merges() const;
  /// The synced peers heard lately (within the silence after which a peer no longer counts):
  /// the nodes that must confirm a change before this node acknowledges it.
  [[nodiscard]] std::vector<std::string> live_peers() const;
  /// Peers heard within the last `within`.
  [[nodiscard]] std::vector<Peer> peers(std::chrono::milliseconds within) const;

 private:
  enum class Attempt { done, more, failed, alone };
  std::string heartbeat_body();
  /// Asks `subject` for the page after `after` and applies it.
  Attempt copy_page(std::string_view subject, const Json& request, std::string& after);
  /// A peer's heartbeat carried `digest`: note whether it differs from ours, and queue a merge
  /// when it has for long enough. Requires mutex_.
  void compare_digest(Peer& peer, const Catalogue::Digest& digest);
  void run_merges();
  /// True when the whole catalogue of `node` was merged.
  bool merge_from(const std::string& node);

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
  std::optional<Catalogue::Digest> own_digest_;  // as of our last heartbeat
  std::vector<std::string> to_merge_;            // peers whose catalogue to merge, in order
  std::size_t merges_ = 0;
  std::function<void()> on_met_;  // set while waiting for a first peer (await_peer)
  bool stopping_ = false;
  std::thread merger_;  // last: started once the rest exists
};

}  // namespace polaris::detail
