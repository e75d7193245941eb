// Internal: everything a registry node does for operators: status answers, metrics.
#pragma once

#include <nats/nats.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "polaris/registry.hpp"
#include "registry/metrics_server.hpp"
#include "registry/peer_tracker.hpp"
#include "registry/status.hpp"
#include "transport/subscription.hpp"

namespace polaris::detail {

class NatsServer;
class SystemClient;

/// Answers polaris.registry.status, tracks the cluster peers, and serves Prometheus metrics
/// when asked to. It only needs the node's NATS connection, a few facts and a way to count
/// the catalogue, so the registry service stays free of it.
///
/// Thread safety: status() may be called from any thread; status requests are answered on the
/// subscription's delivery thread, metrics on the metrics server's thread. Destroy it before the
/// NATS connection closes.
class NodeObserver {
 public:
  using Counter = std::function<CatalogueCounts()>;
  /// "" when the registry serves its whole catalogue, else why not (for /readyz).
  using Readiness = std::function<std::string()>;

  /// `reports`: where the node's nats-server tells its id and routes (empty: nowhere, for the
  /// reason `no_reports`); `names`: the peers' names (may be empty). `system`: a connection as
  /// the system account's user, where nats-server announces the shutdown of a server of the
  /// cluster ($SYS.SERVER.<id>.SHUTDOWN: a peer stopped on purpose is not down); may be null.
  /// `ready`: the registry's side of /readyz (the observer adds its NATS connection's).
  /// @throws Error when subscribing fails or the metrics address cannot be bound.
  NodeObserver(natsConnection* connection, NodeFacts facts, const std::optional<Endpoint>& metrics,
               Counter count, Readiness ready, ServerReportSource reports, std::string no_reports,
               ServerNameSource names, natsConnection* system, Logger log);
  ~NodeObserver();
  NodeObserver(const NodeObserver&) = delete;
  NodeObserver& operator=(const NodeObserver&) = delete;

  /// This node's status now (polls the peers first).
  [[nodiscard]] Json status();
  /// The metrics URL; empty when metrics are off.
  [[nodiscard]] std::string metrics_url() const;

 private:
  std::string render_metrics_now();
  std::string not_ready() const;

  natsConnection* connection_;
  NodeFacts facts_;
  Counter count_;
  Readiness ready_;
  Logger log_;
  PeerTracker peers_;
  Subscription status_subscription_;
  Subscription shutdown_subscription_;
  std::unique_ptr<MetricsServer> metrics_;  // last: stopped first
};

/// Where a node's status finds its peers: the system account (`system`, may be null), else the
/// monitoring endpoint the operator asked for (`server`, null when attaching), else nowhere (with
/// the reason in `no_reports`).
struct PeerSources {
  ServerReportSource reports;
  std::string no_reports;
  ServerNameSource names;
};
PeerSources peer_sources(const NatsServer* server, const SystemClient* system);

/// The facts of a node from its options and (unless attaching) its nats-server.
NodeFacts node_facts(const RegistryOptions& options, const NatsServer* server);

}  // namespace polaris::detail
