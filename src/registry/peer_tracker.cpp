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

ServerNameSource system_account_names(const SystemClient& client) {
  return [&client](const std::string& server_id) {
    return string_at(client.server_request(server_id, "VARZ", std::chrono::milliseconds(1000)),
                     "server_name");
  };
}

ServerReportSource http_monitor_reports(std::string monitoring_url) {
  return [url = std::move(monitoring_url)] {
    return ServerReport{.varz = get_json(url + "/varz"), .routez = get_json(url + "/routez")};
  };
}

PeerTracker::PeerTracker(ServerReportSource source, std::string no_source, ServerNameSource names,
                         std::chrono::milliseconds interval, Logger log)
    : source_(std::move(source)),
      names_source_(std::move(names)),
      interval_(interval),
      log_(std::move(log)) {
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

namespace {

struct Route {
  std::string id;
  std::string rtt;
  std::string address;
};

/// The routes of a /routez answer that name their remote server.
std::vector<Route> routes_of(const Json& routez) {
  std::vector<Route> routes;
  const auto list = routez.find("routes");
  if (list == routez.end() || !list->is_array()) return routes;
  for (const auto& route : *list) {
    if (!route.is_object()) continue;
    Route seen{.id = string_at(route, "remote_id"), .rtt = string_at(route, "rtt")};
    if (seen.id.empty()) continue;
    const auto port = route.find("port");
    seen.address = string_at(route, "ip") +
                   (port != route.end() && port->is_number() ? ":" + port->dump() : "");
    routes.push_back(std::move(seen));
  }
  return routes;
}

}  // namespace

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
  const std::vector<Route> routes = routes_of(routez);
  std::vector<std::string> ids;
  for (const auto& route : routes) ids.push_back(route.id);
  const auto names = names_of(ids);  // may ask the servers: before locking
  const auto now = std::chrono::system_clock::now();
  std::lock_guard lock(mutex_);
  for (auto& [key, peer] : peers_) peer.up = false;
  for (const auto& route : routes) {
    // A server that announced its shutdown may keep its route for a moment: not up again.
    if (left_ids_.count(route.id) > 0) continue;
    const auto named = names.find(route.id);
    const std::string name = named != names.end() ? named->second : std::string();
    if (!name.empty()) peers_.erase(route.id);  // the entry made while its name was unknown
    // By name, a restarted server (new id) takes its old entry over.
    Peer& peer = peers_[name.empty() ? route.id : name];
    peer.id = route.id;
    peer.name = name;
    peer.up = true;
    peer.left = false;
    peer.rtt = route.rtt;
    peer.address = route.address;
    peer.last_seen = now;
  }
  for (auto& [key, peer] : peers_) {
    if (!peer.up) peer.rtt.clear();
    fresh.peers.push_back(peer);
  }
  last_ = std::move(fresh);
  return last_;
}

std::map<std::string, std::string> PeerTracker::names_of(const std::vector<std::string>& ids) {
  std::map<std::string, std::string> names;
  std::vector<std::string> unknown;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    for (const auto& id : ids) {
      if (const auto it = names_.find(id); it != names_.end()) {
        names[id] = it->second;
      } else if (const auto failed = unnamed_.find(id);
                 failed == unnamed_.end() || now - failed->second > kNameRetry) {
        unknown.push_back(id);
      }
    }
  }
  if (!names_source_) return names;
  for (const auto& id : unknown) {
    try {
      std::string name = names_source_(id);
      std::lock_guard lock(mutex_);
      if (name.empty()) {
        unnamed_[id] = now;
        continue;
      }
      names_[id] = name;
      names[id] = std::move(name);
    } catch (const std::exception& error) {
      // Known by id until a later poll learns the name; not asked at every poll meanwhile, so
      // that a server that does not answer (not ours, or hung) does not slow every status down.
      log_->debug("peers: no name for server {}: {}", id, error.what());
      std::lock_guard lock(mutex_);
      unnamed_[id] = now;
    }
  }
  return names;
}

void PeerTracker::mark_left(const std::string& server_id) {
  std::lock_guard lock(mutex_);
  left_ids_.insert(server_id);
  auto leave = [&](Peer& peer) {
    if (peer.id != server_id) return;
    peer.left = true;
    peer.up = false;
    peer.rtt.clear();
  };
  for (auto& [key, peer] : peers_) leave(peer);
  for (auto& peer : last_.peers) leave(peer);
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
