// Internal: what a registry node's nats-server knows about its cluster.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "polaris/json.hpp"
#include "polaris/logging.hpp"

namespace polaris::detail {

class SystemClient;

/// What one nats-server says about itself: its varz (who am I) and routez (which peers are
/// routed), as its monitoring endpoint or its system account answers them (the same objects).
struct ServerReport {
  Json varz;
  Json routez;
};

/// Where a PeerTracker gets its reports; throws when the server does not answer.
using ServerReportSource = std::function<ServerReport()>;
/// The configured name (server_name) of another nats-server of the cluster, by its server id;
/// throws when it does not answer.
using ServerNameSource = std::function<std::string(const std::string& server_id)>;

/// Reports from the registry's own nats-server through the system account
/// ($SYS.REQ.SERVER.<id>.VARZ and .ROUTEZ). `client` must outlive the source.
ServerReportSource system_account_reports(const SystemClient& client);
/// Names of the cluster's nats-servers through the system account ($SYS.REQ.SERVER.<id>.VARZ
/// reaches every server of the cluster). `client` must outlive the source.
ServerNameSource system_account_names(const SystemClient& client);
/// Reports from an HTTP monitoring endpoint, e.g. "http://127.0.0.1:8222" (/varz, /routez).
ServerReportSource http_monitor_reports(std::string monitoring_url);

/// Polls a nats-server (ServerReportSource) and remembers every peer it has seen, so a peer
/// whose route went away is reported as down instead of silently vanishing from the list.
///
/// Peers are known by name (ServerNameSource; by server id while a name is unknown): a peer
/// that restarts comes back with a new server id but its name, and replaces its old entry
/// instead of leaving it down forever. A peer that announced its shutdown (mark_left) is
/// "left", not down.
///
/// Thread safety: all methods may be called from any thread; a background thread polls every
/// `interval`, and refresh() polls at once.
class PeerTracker {
 public:
  struct Peer {
    std::string id;       ///< the peer nats-server's server id (of its latest instance)
    std::string name;     ///< its server_name; empty while unknown
    std::string address;  ///< ip:port of the route connection
    std::string rtt;      ///< as nats-server reports it, e.g. "312µs"; empty when down
    bool up = false;
    bool left = false;  ///< it shut down on purpose (and has not come back)
    std::chrono::system_clock::time_point last_seen;
  };

  struct View {
    bool available = false;  ///< false: no source, or it did not answer
    std::string problem;     ///< why not available
    std::string server_id;
    std::string server_name;
    std::string nats_version;
    std::vector<Peer> peers;  ///< sorted by name (by id for the unnamed)
  };

  /// `source` empty: nothing to poll (attach mode), `no_source` says why. `names` empty: peers
  /// are known by server id only.
  PeerTracker(ServerReportSource source, std::string no_source, ServerNameSource names,
              std::chrono::milliseconds interval, Logger log);
  ~PeerTracker();
  PeerTracker(const PeerTracker&) = delete;
  PeerTracker& operator=(const PeerTracker&) = delete;

  /// How long a server whose name could not be learnt goes without being asked again.
  static constexpr std::chrono::seconds kNameRetry{10};

  /// Polls now and returns the result.
  View refresh();
  /// The result of the last poll.
  [[nodiscard]] View view() const;
  /// The server `server_id` announced its shutdown: its peer entry is "left", and a route to
  /// it that lingers for a moment does not bring it back.
  void mark_left(const std::string& server_id);

 private:
  void run();
  // The names of `ids`, from the cache or asked now ("" when the source does not answer).
  std::map<std::string, std::string> names_of(const std::vector<std::string>& ids);

  const ServerReportSource source_;
  const ServerNameSource names_source_;
  const std::chrono::milliseconds interval_;
  Logger log_;
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  View last_;
  std::map<std::string, Peer> peers_;         // every peer ever seen, by name (by id while unnamed)
  std::map<std::string, std::string> names_;  // server id -> name, as learnt
  std::set<std::string> left_ids_;            // servers that announced their shutdown
  std::map<std::string, std::chrono::steady_clock::time_point> unnamed_;  // asked in vain, when
  std::thread thread_;  // last: started once the rest exists
};

}  // namespace polaris::detail
