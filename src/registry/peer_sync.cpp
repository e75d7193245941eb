#include "registry/peer_sync.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "common/untrusted_json.hpp"
#include "protocol/wire.hpp"
#include "transport/gather.hpp"
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
      log_(std::move(log)),
      merger_([this] { run_merges(); }) {}

PeerSync::~PeerSync() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  merger_.join();
}

PeerSync::Start PeerSync::synchronise(std::chrono::milliseconds timeout) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  std::string after;
  while (true) {
    const Attempt attempt = copy_page(wire::kSyncSnapshotSubject, Json::object(), after);
    if (attempt == Attempt::done) {
      log_->info("copied the catalogue from a peer ({} tools)", catalogue_.size());
      return Start::copied;
    }
    // A copy cut short resumes from where it was: pages from different peers merge.
    if (attempt != Attempt::alone) continue;
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
      return Start::new_cluster;
    }
    if (now >= deadline) {
      log_->info("no peer holds the catalogue: starting alone with an empty one");
      return Start::alone;
    }
    // Wake when a heartbeat arrives (a peer came up) or shortly, to ask again.
    changed_.wait_until(lock, std::min(deadline, now + 50ms));
  }
}

PeerSync::Attempt PeerSync::copy_page(std::string_view subject, const Json& request,
                                      std::string& after) {
  Json asked = request;
  asked["after"] = after;
  const std::string body = asked.dump();
  natsMsg* raw = nullptr;
  const natsStatus status = natsConnection_RequestString(
      &raw, connection_, std::string(subject).c_str(), body.c_str(), 2000);
  NatsMsgPtr reply(raw);
  if (status != NATS_OK) {
    if (status == NATS_NO_RESPONDERS) return Attempt::alone;
    log_->warn("catalogue copy: {} (asking again)", natsStatus_GetText(status));
    return Attempt::failed;
  }
  const char* data = natsMsg_GetData(reply.get());
  Json page = polaris::detail::parse_untrusted_json(data != nullptr ? data : "");
  try {
    stamps_.observe(catalogue_.load_snapshot_page(page, Clock::now()));
  } catch (const std::exception& e) {
    log_->warn("catalogue copy: a malformed page ({}); asking again", e.what());
    return Attempt::failed;
  }
  auto next = page.find("next");
  if (next == page.end() || !next->is_string()) return Attempt::done;
  after = next->get<std::string>();
  return Attempt::more;
}

void PeerSync::await_peer(std::function<void()> met) {
  std::lock_guard lock(mutex_);
  on_met_ = std::move(met);
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

std::string PeerSync::heartbeat_body() {
  const Catalogue::Digest digest = catalogue_.digest();
  bool synced = false;
  {
    std::lock_guard lock(mutex_);
    synced = synced_;
    own_digest_ = digest;
  }
  return Json{{"node", node_id_},
              {"synced", synced},
              {"tools", catalogue_.size()},
              {"owners", digest.owners},
              {"digest", fmt::format("{:016x}", digest.hash)}}
      .dump();
}

void PeerSync::introduce() {
  const auto replies = gather(connection_, std::string(wire::kNodeHelloSubject), heartbeat_body(),
                              {.timeout = std::chrono::milliseconds(1000), .quiet = 250ms});
  for (const auto& reply : replies) on_node_heartbeat(reply);
  log_->info("introduced to {} peer(s)", replies.size());
}

void PeerSync::on_hello(std::string_view body, const char* reply) {
  const Json hello = polaris::detail::parse_untrusted_json(body);
  if (!hello.is_object() || hello.value("node", Json()) == node_id_) return;
  on_node_heartbeat(body);
  if (reply == nullptr || *reply == '\0') return;
  const std::string answer = heartbeat_body();
  natsConnection_Publish(connection_, reply, answer.data(), static_cast<int>(answer.size()));
}

void PeerSync::publish_node_heartbeat() {
  const std::string body = heartbeat_body();
  natsConnection_Publish(connection_, std::string(wire::kNodeHeartbeatSubject).c_str(), body.data(),
                         static_cast<int>(body.size()));
}

namespace {

/// The digest a heartbeat carries; none from nodes that do not send one.
std::optional<Catalogue::Digest> digest_of(const Json& beat) {
  const Json owners = beat.value("owners", Json());
  const Json text = beat.value("digest", Json());
  if (!owners.is_number_unsigned() || !text.is_string()) return std::nullopt;
  const auto& hex = text.get_ref<const std::string&>();
  Catalogue::Digest digest{.owners = owners.get<std::size_t>()};
  const auto parsed = std::from_chars(hex.data(), hex.data() + hex.size(), digest.hash, 16);
  if (parsed.ec != std::errc{} || parsed.ptr != hex.data() + hex.size()) return std::nullopt;
  return digest;
}

}  // namespace

void PeerSync::on_node_heartbeat(std::string_view body) {
  Json beat = polaris::detail::parse_untrusted_json(body);
  if (!beat.is_object() || !beat.value("node", Json()).is_string()) return;
  const std::string node = beat["node"].get<std::string>();
  if (node == node_id_) return;
  {
    std::lock_guard lock(mutex_);
    auto& peer = peers_[node];
    peer.node = node;
    peer.synced = beat.value("synced", Json(false)) == true;
    peer.tools =
        beat.value("tools", Json(0)).is_number_unsigned() ? beat["tools"].get<std::size_t>() : 0;
    peer.last_heard = Clock::now();
    if (on_met_ && peer.synced && synced_) {
      // Started alone, and here is a peer that holds a catalogue: merge it now.
      if (std::find(to_merge_.begin(), to_merge_.end(), node) == to_merge_.end()) {
        to_merge_.insert(to_merge_.begin(), node);
      }
    } else if (const auto digest = digest_of(beat); digest && peer.synced && synced_) {
      compare_digest(peer, *digest);
    }
  }
  changed_.notify_all();
}

void PeerSync::compare_digest(Peer& peer, const Catalogue::Digest& digest) {
  const auto now = Clock::now();
  if (!own_digest_ || *own_digest_ == digest) {
    peer.differs_since.reset();
    return;
  }
  if (!peer.differs_since) peer.differs_since = now;
  if (now - *peer.differs_since < kDivergenceGrace) return;
  if (peer.last_pull && now - *peer.last_pull < kPullGap) return;
  if (std::find(to_merge_.begin(), to_merge_.end(), peer.node) != to_merge_.end()) return;
  peer.last_pull = now;
  to_merge_.push_back(peer.node);  // on_node_heartbeat wakes the merger
}

void PeerSync::run_merges() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !to_merge_.empty(); });
    if (stopping_) return;
    const std::string node = to_merge_.front();
    to_merge_.erase(to_merge_.begin());
    lock.unlock();
    const bool merged = merge_from(node);
    lock.lock();
    if (auto peer = peers_.find(node); peer != peers_.end()) {
      peer->second.differs_since.reset();
    }
    if (merged && on_met_) {
      const auto met = std::move(on_met_);
      on_met_ = nullptr;
      lock.unlock();
      met();
      lock.lock();
    }
  }
}

bool PeerSync::merge_from(const std::string& node) {
  constexpr int kMaxFailures = 3;
  const std::size_t before = catalogue_.size();
  const Json request{{"node", node}};
  std::string after;
  int failures = 0;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    const Attempt attempt = copy_page(wire::kSyncPullSubject, request, after);
    if (attempt == Attempt::done) break;
    if (attempt == Attempt::alone || (attempt == Attempt::failed && ++failures >= kMaxFailures)) {
      log_->warn("could not merge the catalogue of node {}: it does not answer", node);
      return false;
    }
  }
  {
    std::lock_guard lock(mutex_);
    ++merges_;
  }
  log_->info("merged the catalogue of node {} ({} tools before, {} now)", node, before,
             catalogue_.size());
  return true;
}

std::size_t PeerSync::merges() const {
  std::lock_guard lock(mutex_);
  return merges_;
}

std::vector<std::string> PeerSync::live_peers() const {
  std::vector<std::string> result;
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  for (const auto& [node, peer] : peers_) {
    if (peer.synced && now - peer.last_heard <= kPeerSilence) result.push_back(node);
  }
  return result;
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
