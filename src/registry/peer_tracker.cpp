#include "registry/peer_tracker.hpp"

#include <spdlog/spdlog.h>

#include "http/http_client.hpp"
#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "registry/system_client.hpp"

namespace polaris::detail {
namespace {

Json get_json(const std::string& url) {
  http::Request request{.method = "GET",
                        .url = url,
                        .connect_timeout = std::chrono::milliseconds(1000),
                        .timeout = std::chrono::milliseconds(2000)};
  const http::Response response = http::perform(request);
  if (response.status != 200) {
    throw Error(Errc::protocol, url + " answered HTTP " + std::to_string(response.status));
  }
  Json json = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    throw Error(Errc::protocol, url + " did not answer a JSON object");
  }
  return json;
}

std::string string_at(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

ServerReportSource system_account_reports(const SystemClient& client) {
  return [&client] {
    constexpr auto kTimeout = std::chrono::milliseconds(2000);
    // Asked each time: the connection may have moved to a restarted nats-server.
    const std::string id = client.server_id();
    if (id.empty()) throw Error(Errc::connection_lost, "the system account is not connected");
    return ServerReport{.varz = client.server_request(id, "VARZ", kTimeout),
                        .routez = client.server_request(id, "ROUTEZ", kTimeout)};
  };
}

ServerReportSource http_monitor_reports(std::string monitoring_url) {
  return [url = std::move(monitoring_url)] {
    return ServerReport{.varz = get_json(url + "/varz"), .routez = get_json(url + "/routez")};
  };
}

PeerTracker::PeerTracker(ServerReportSource source, std::string no_source,
                         std::chrono::milliseconds interval, Logger log)
    : source_(std::move(source)), interval_(interval), log_(std::move(log)) {
  last_.problem = source_ ? "not polled yet" : std::move(no_source);
  if (source_) thread_ = std::thread([this] { run(); });
}

PeerTracker::~PeerTracker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

PeerTracker::View PeerTracker::refresh() {
  if (!source_) return view();
  View fresh;
  Json varz;
  Json routez;
  try {
    auto report = source_();
    varz = std::move(report.varz);
    routez = std::move(report.routez);
  } catch (const std::exception& error) {
    std::lock_guard lock(mutex_);
    last_.available = false;
    last_.problem = error.what();
    return last_;
  }
  fresh.available = true;
  fresh.server_id = string_at(varz, "server_id");
  fresh.server_name = string_at(varz, "server_name");
  fresh.nats_version = string_at(varz, "version");
  const auto now = std::chrono::system_clock::now();
  std::lock_guard lock(mutex_);
  for (auto& [id, peer] : peers_) peer.up = false;
  if (const auto routes = routez.find("routes"); routes != routez.end() && routes->is_array()) {
    for (const auto& route : *routes) {
      if (!route.is_object()) continue;
      const std::string id = string_at(route, "remote_id");
      if (id.empty()) continue;
      Peer& peer = peers_[id];
      peer.id = id;
      peer.up = true;
      peer.rtt = string_at(route, "rtt");
      const auto port = route.find("port");
      peer.address = string_at(route, "ip") +
                     (port != route.end() && port->is_number() ? ":" + port->dump() : "");
      peer.last_seen = now;
    }
  }
  for (auto& [id, peer] : peers_) {
    if (!peer.up) peer.rtt.clear();
    fresh.peers.push_back(peer);
  }
  last_ = std::move(fresh);
  return last_;
}

PeerTracker::View PeerTracker::view() const {
  std::lock_guard lock(mutex_);
  return last_;
}

void PeerTracker::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    refresh();
    lock.lock();
    stop_cv_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace polaris::detail
