// polaris/registry.hpp - a registry node: a supervised nats-server plus the tool catalogue.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "polaris/logging.hpp"
#include "polaris/security.hpp"

namespace polaris {

/// Where the registry's NATS server accepts clients.
struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 4222;  ///< 0: any free port (see Registry::client_url())
};

/// Clustering of registry nodes (NATS routes). Off while `name` is empty.
struct ClusterOptions {
  std::string name{};              ///< all nodes of a cluster use the same name
  std::string host = "127.0.0.1";  ///< where routes from other nodes are accepted
  int port = 0;                    ///< 0: any free port
  std::string advertise{};         ///< "host:cluster-port" others should dial; empty: none
};

/// Options of Registry::start.
struct RegistryOptions {
  Endpoint bind{};
  std::int64_t max_payload = std::int64_t{1024} * 1024;  ///< bytes
  ClusterOptions cluster{};
  /// Route URLs of other nodes, e.g. "nats://127.0.0.1:5222" (for the second and later nodes).
  std::vector<std::string> routes{};
  /// A tool not refreshed by a keepalive for this long is removed.
  std::chrono::milliseconds keepalive_deadline{std::chrono::minutes(10)};
  /// How often expired tools are swept; 0: keepalive_deadline / 10, at most one minute.
  std::chrono::milliseconds sweep_interval{0};
  /// Let a registration replace a tool of the same name instead of refusing it.
  bool allow_overwrite = false;
  /// A polaris agent that sends heartbeats and is silent for this long is declared gone and its
  /// tools are removed on every node. With heartbeats every second and sweeps every tenth of
  /// this, an agent that dies or hangs leaves the catalogue within 3 s.
  std::chrono::milliseconds agent_timeout{2500};
  /// How long a node waits, before answering a registration, for a concurrent registration of
  /// the same name on another node (so that exactly one of two racing agents is told OK). Only
  /// used when other nodes may exist (a cluster or attach mode).
  std::chrono::milliseconds claim_window{20};
  /// How long a node waits, before acknowledging a change (register, keepalive, unregister),
  /// for every live peer to confirm it applied it, so that a client's next request sees the
  /// change whichever node answers it. A peer that has not confirmed by then is taken for dead
  /// or cut off (docs/ARCHITECTURE.md, "Read your writes"). Only used in a cluster; 0: do not
  /// wait (a client's next request may then miss its own change).
  std::chrono::milliseconds replication_timeout{1000};
  /// How long a starting cluster node looks for a peer to copy the catalogue from before it
  /// concludes that it is alone. It answers no registry request before it has the catalogue.
  std::chrono::milliseconds sync_timeout{2000};
  /// How often the supervised nats-server pings its clients; a client that misses three pings
  /// is disconnected (so a hung agent stops receiving calls). 0: nats-server's default (2 min).
  std::chrono::milliseconds client_ping_interval{1000};
  /// Attach mode: serve the registry on these existing NATS servers and launch nothing.
  std::vector<std::string> nats_urls{};
  /// nats-server binary; empty: $POLARIS_NATS_SERVER, else nats-server from PATH or /usr/sbin.
  std::string nats_server_path{};
  /// Name of this node's NATS server; empty: generated.
  std::string server_name{};
  /// How long to wait for nats-server to accept connections.
  std::chrono::milliseconds startup_timeout{10000};
  /// Where to serve Prometheus metrics (GET /metrics; port 0: any free port); empty: nowhere.
  std::optional<Endpoint> metrics{};
  /// Where nats-server serves its HTTP monitoring endpoint (/varz, /connz, /routez...; port 0:
  /// any free port, see Registry::monitoring_url()); empty: nowhere. It has no authentication
  /// and shows every connection's user, name and subscriptions to whoever reaches it
  /// (docs/SECURITY.md); the registry itself asks its nats-server through the system account.
  std::optional<Endpoint> monitor{};
  /// When nats-server reports that a polaris agent's connection closed (the process died or
  /// closed its socket), how long the agent has to connect again (to any node) before its tools
  /// are withdrawn on every node. Needs the system account the registry configures in the
  /// nats-server it launches (not in attach mode, not with token auth); heartbeats
  /// (agent_timeout) still catch agents that hang. 0: wait for heartbeats only.
  std::chrono::milliseconds disconnect_grace{50};
  /// Auth, TLS, roles and tool allow-lists (docs/SECURITY.md); empty: open, as the reference.
  /// With SecurityConfig::source_file set, SIGHUP during run_until_shutdown() re-reads it.
  std::optional<SecurityConfig> security{};
  Logger logger{};  ///< empty: spdlog's default logger
};

/// A running registry node. Move-only; destruction stops it (see close()).
///
/// Thread safety: all methods may be called from any thread.
class Registry {
 public:
  /// Launches nats-server (unless attaching), waits until it accepts connections, and serves
  /// the registry subjects.
  /// @throws Error(Errc::process) when nats-server cannot start or exits during start-up (the
  ///         message carries its last log lines); Error(Errc::connection_failed) when attaching
  ///         fails; Error(Errc::invalid_argument) for bad options.
  static Registry start(RegistryOptions options);

  ~Registry();
  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// The URL clients use, e.g. "nats://127.0.0.1:4222" (the first attach URL in attach mode).
  [[nodiscard]] std::string client_url() const;
  /// The route URL other nodes use, e.g. "nats://127.0.0.1:5222"; empty without a cluster.
  [[nodiscard]] std::string cluster_url() const;
  /// Number of tools in this node's catalogue.
  [[nodiscard]] std::size_t tool_count() const;
  /// Number of polaris agents owning tools in this node's catalogue.
  [[nodiscard]] std::size_t agent_count() const;
  /// This node's id in the cluster (its server name).
  [[nodiscard]] std::string node_id() const;
  /// The Prometheus metrics URL, e.g. "http://127.0.0.1:9464/metrics"; empty without metrics.
  [[nodiscard]] std::string metrics_url() const;
  /// nats-server's monitoring URL, e.g. "http://127.0.0.1:8222"; empty without
  /// RegistryOptions::monitor.
  [[nodiscard]] std::string monitoring_url() const;

  /// Blocks until SIGINT or SIGTERM arrives (then returns) or the supervised nats-server dies
  /// (then throws Error(Errc::process) with its last log lines). With a security config read
  /// from a file, SIGHUP re-reads it (see reload_security()) and keeps waiting.
  void run_until_shutdown();

  /// Re-reads the security config file, applies the new roles and allow-lists, and makes the
  /// nats-server reload its configuration. On an invalid file the old configuration stays.
  /// @throws Error(Errc::invalid_argument) for an invalid file or when there is none to read.
  void reload_security();

  /// Stops serving and stops the nats-server child. Idempotent.
  void close();

  class Impl;

 private:
  explicit Registry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace polaris
