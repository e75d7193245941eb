#include "registry/peer_sync.hpp"
#include "common/untrusted_json.hpp"

#include <spdlog/spdlog.h>

#include "protocol/wire.hpp"
#include "transport/nats_handles.hpp"

namespace polaris::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// A peer that stops sending heartbeats for this long no longer counts as a peer.
constexpr auto kPeerSilence = 1500ms;
/// Every peer starting at once: wait this long for a node that holds the catalogue to be heard
/// (routes take a moment) before concluding that the cluster is new.
constexpr auto kAllStartingGrace = 600ms;

}  // namespace

PeerSync::PeerSync(natsConnection* connection, std::string node_id, Catalogue& catalogue,
                   StampClock& stamps, Logger log)
    : connection_(connection),
      node_id_(std::move(node_id)),
      catalogue_(catalogue),
      stamps_(stamps),
      log_(std::move(log)) {}

void PeerSync::synchronise(std::chrono::milliseconds timeout) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  std::string after;
  while (true) {
    const Attempt attempt = copy_from_peer(after);
    if (attempt == Attempt::done) {
      log_->info("copied the catalogue from a peer ({} tools)", catalogue_.size());
      return;
    }
    if (attempt == Attempt::retry) continue;
    std::unique_lock lock(mutex_);
    const auto now = Clock::now();
    bool any_synced = false;
    bool any_starting = false;
    for (const auto& [node, peer] : peers_) {
      if (now - peer.last_heard > kPeerSilence) continue;
      (peer.synced ? any_synced : any_starting) = true;
    }
    if (!any_synced && any_starting && now - start >= kAllStartingGrace) {
      log_->info("every peer is starting too: the catalogue starts empty");
      return;
    }
    if (now >= deadline) {
      log_->info("no peer holds the catalogue: starting alone with an empty one");
      return;
    }
    // Wake when a heartbeat arrives (a peer came up) or shortly, to ask again.
    changed_.wait_until(lock, std::min(deadline, now + 50ms));
  }
}

PeerSync::Attempt PeerSync::copy_from_peer(std::string& after) {
  natsMsg* raw = nullptr;
  const std::string request = Json{{"after", after}}.dump();
  const natsStatus status = natsConnection_RequestString(
      &raw, connection_, std::string(wire::kSyncSnapshotSubject).c_str(), request.c_str(), 2000);
  NatsMsgPtr reply(raw);
  if (status != NATS_OK) {
    if (status != NATS_NO_RESPONDERS) {
      log_->warn("catalogue copy: {} (asking again)", natsStatus_GetText(status));
    }
    // A copy cut short resumes from where it was: pages from different peers merge.
    return status == NATS_NO_RESPONDERS ? Attempt::alone : Attempt::retry;
  }
  const char* data = natsMsg_GetData(reply.get());
  Json page = polaris::detail::parse_untrusted_json(data != nullptr ? data : "");
  try {
    stamps_.observe(catalogue_.load_snapshot_page(page, Clock::now()));
  } catch (const std::exception& e) {
    log_->warn("catalogue copy: a malformed page ({}); asking again", e.what());
    return Attempt::retry;
  }
  auto next = page.find("next");
  if (next == page.end() || !next->is_string()) return Attempt::done;
  after = next->get<std::string>();
  return Attempt::retry;
}

void PeerSync::mark_synced(const std::function<void(const Json&)>& apply) {
  std::lock_guard lock(mutex_);
  for (const auto& event : held_) apply(event);
  held_.clear();
  synced_ = true;
}

bool PeerSync::hold_until_synced(const Json& event) {
  std::lock_guard lock(mutex_);
  if (synced_) return false;
  held_.push_back(event);
  return true;
}

void PeerSync::publish_node_heartbeat(std::size_t tools) {
  bool synced = false;
  {
    std::lock_guard lock(mutex_);
    synced = synced_;
  }
  const std::string body = Json{{"node", node_id_}, {"synced", synced}, {"tools", tools}}.dump();
  natsConnection_Publish(connection_, std::string(wire::kNodeHeartbeatSubject).c_str(), body.data(),
                         static_cast<int>(body.size()));
}

void PeerSync::on_node_heartbeat(std::string_view body) {
  Json beat = polaris::detail::parse_untrusted_json(body);
  if (!beat.is_object() || !beat.value("node", Json()).is_string()) return;
  const std::string node = beat["node"].get<std::string>();
  if (node == node_id_) return;
  {
    std::lock_guard lock(mutex_);
    auto& peer = peers_[node];
    peer.node = node;
    peer.synced = beat.value("synced", false);
    peer.tools =
        beat.value("tools", Json(0)).is_number_unsigned() ? beat["tools"].get<std::size_t>() : 0;
    peer.last_heard = Clock::now();
  }
  changed_.notify_all();
}

std::vector<PeerSync::Peer> PeerSync::peers(std::chrono::milliseconds within) const {
  std::vector<Peer> result;
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  for (const auto& [node, peer] : peers_) {
    if (now - peer.last_heard <= within) result.push_back(peer);
  }
  return result;
}

}  // namespace polaris::detail
