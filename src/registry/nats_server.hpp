// Internal: the nats-server child a registry node supervises.
#pragma once

#include <memory>
#include <string>

#include "polaris/logging.hpp"
#include "polaris/registry.hpp"
#include "process/child_process.hpp"

namespace polaris::detail {

/// Configuration text added by the security settings (authorization, TLS): blocks for the top
/// level and for inside the "cluster" block.
struct NatsConfigExtras {
  std::string top_level;
  std::string cluster;
};

/// The nats-server configuration for `options`, writing its ports file into `ports_dir`.
/// Port 0 becomes -1 (nats-server's "any free port").
std::string render_nats_config(const RegistryOptions& options, const std::string& ports_dir,
                               const NatsConfigExtras& extras = {});

/// A running nats-server: configuration in a private temporary directory (removed on
/// destruction), the process supervised, its output sent to the logger.
/// Thread safety: const methods may be called from any thread.
class NatsServer {
 public:
  /// Starts nats-server and waits until it listens.
  /// @throws Error(Errc::process), one line: how nats-server ended and its last error line,
  /// when it does not come up (its whole output went to the log).
  NatsServer(const RegistryOptions& options, const Logger& log,
             const NatsConfigExtras& extras = {});
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  [[nodiscard]] const std::string& client_url() const noexcept { return client_url_; }
  [[nodiscard]] const std::string& cluster_url() const noexcept { return cluster_url_; }
  [[nodiscard]] const ChildProcess& process() const noexcept { return *process_; }
  /// nats-server's HTTP monitoring endpoint (loopback only), e.g. "http://127.0.0.1:8222".
  [[nodiscard]] const std::string& monitoring_url() const noexcept { return monitoring_url_; }
  void stop();
  /// Rewrites the configuration with new `extras` (same ports) and makes nats-server reload it
  /// (SIGHUP). nats-server keeps its old configuration when the new one is invalid (it logs why).
  void reload(const NatsConfigExtras& extras);

 private:
  void write_config(const NatsConfigExtras& extras) const;

  RegistryOptions options_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  std::string client_url_;
  std::string cluster_url_;
  std::string monitoring_url_;  // [observe]
};

}  // namespace polaris::detail
