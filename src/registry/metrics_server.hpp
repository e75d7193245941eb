// Internal: an HTTP endpoint serving Prometheus text metrics (libmicrohttpd).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "polaris/logging.hpp"

struct MHD_Daemon;

namespace polaris::detail {

/// Serves GET /metrics with the text `render` returns (Prometheus text format 0.0.4), and the
/// probes: /healthz answers 200 while the process serves HTTP at all, /readyz 200 when `ready`
/// returns "" and 503 with its reason otherwise. Any other path is 404, any other method than GET
/// or HEAD 405. One internal polling thread: requests are serialised, which is what a
/// Prometheus server expects of a target.
///
/// Thread safety: `render` and `ready` run on the server's thread; construction and destruction
/// on any thread (destruction stops the server and waits for a request in progress).
class MetricsServer {
 public:
  struct Pages {
    std::function<std::string()> metrics;  ///< the metrics text
    std::function<std::string()> ready;    ///< "" when ready, else why not
  };

  /// Listens on host:port (IPv4; port 0: any free port).
  /// @throws Error(Errc::invalid_argument) when the address is not IPv4 or cannot be bound.
  MetricsServer(const std::string& host, int port, Pages pages, Logger log);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// e.g. "http://127.0.0.1:9464/metrics"
  [[nodiscard]] const std::string& url() const noexcept { return url_; }

 private:
  struct DaemonDeleter {
    void operator()(MHD_Daemon* daemon) const noexcept;
  };

  Pages pages_;
  Logger log_;
  std::string url_;
  std::unique_ptr<MHD_Daemon, DaemonDeleter> daemon_;  // last: stopped before the rest goes
};

}  // namespace polaris::detail
