// Internal: what a registry node's nats-server knows about its cluster.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
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

/// Reports from the registry's own nats-server through the system account
/// ($SYS.REQ.SERVER.<id>.VARZ and .ROUTEZ). `client` must outlive the source.
ServerReportSource system_account_reports(const SystemClient& client);
/// Reports from an HTTP monitoring endpoint, e.g. "http://127.0.0.1:8222" (/varz, /routez).
ServerReportSource http_monitor_reports(std::string monitoring_url);

/// Polls a nats-server (ServerReportSource) and remembers every peer it has seen, so a peer
/// whose route went away is reported as down instead of silently vanishing from the list.
///
/// Thread safety: all methods may be called from any thread; a background thread polls every
/// `interval`, and refresh() polls at once.
class PeerTracker {
 public:
  struct Peer {
    std::string id;       ///< the peer nats-server's server id
    std::string address;  ///< ip:port of the route connection
    std::string rtt;      ///< as nats-server reports it, e.g. "312µs"; empty when down
    bool up = false;
    std::chrono::system_clock::time_point last_seen;
  };

  struct View {
    bool available = false;  ///< false: no source, or it did not answer
    std::string problem;     ///< why not available
    std::string server_id;
    std::string server_name;
    std::string nats_version;
    std::vector<Peer> peers;  ///< sorted by id
  };

  /// `source` empty: nothing to poll (attach mode), `no_source` says why.
  PeerTracker(ServerReportSource source, std::string no_source, std::chrono::milliseconds interval,
              Logger log);
  ~PeerTracker();
  PeerTracker(const PeerTracker&) = delete;
  PeerTracker& operator=(const PeerTracker&) = delete;

  /// Polls now and returns the result.
  View refresh();
  /// The result of the last poll.
  [[nodiscard]] View view() const;

 private:
  void run();

  const ServerReportSource source_;
  const std::chrono::milliseconds interval_;
  Logger log_;
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  View last_;
  std::map<std::string, Peer> peers_;  // every peer ever seen, by id
  std::thread thread_;                 // last: started once the rest exists
};

}  // namespace polaris::detail
