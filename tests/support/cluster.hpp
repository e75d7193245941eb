// Test support: a cluster of real `polaris registry` processes routed together on loopback.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "polaris/connection.hpp"
#include "support/process_fixtures.hpp"

namespace polaris::test {

/// The flags that make a registry node of cluster `name`, routed to `routes` (cluster URLs).
std::vector<std::string> cluster_node_args(const std::string& name,
                                           const std::vector<std::string>& routes = {});

/// Throws Error(Errc::process) unless, within `timeout`, a subscription made on node `to` is seen
/// from node `from`: routes connect asynchronously after the nodes report ready.
void await_route(const RegistryProcess& from, const RegistryProcess& to,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// `nodes` registry nodes: node 0 first, every other node routed to it (the others find each
/// other through its gossip). Ready when every node sees every other one.
class TestCluster {
 public:
  struct Options {
    std::size_t nodes = 3;
    std::string name = "polaris-test";
    /// Extra flags for node i (0-based), e.g. its --server-name or --log-level; may be empty.
    std::function<std::vector<std::string>(std::size_t)> node_args;
  };

  explicit TestCluster(Options options);
  TestCluster() : TestCluster(Options{}) {}

  [[nodiscard]] std::size_t size() const { return nodes_.size(); }
  [[nodiscard]] RegistryProcess& node(std::size_t i) { return *nodes_.at(i); }
  [[nodiscard]] const RegistryProcess& node(std::size_t i) const { return *nodes_.at(i); }
  [[nodiscard]] const std::vector<std::unique_ptr<RegistryProcess>>& nodes() const {
    return nodes_;
  }

  /// The client URLs of every node, starting with node `first` and wrapping around: a
  /// connection dials them in this order.
  [[nodiscard]] std::vector<std::string> urls_from(std::size_t first) const;
  /// A connection dialling urls_from(first) in order and reconnecting after 50 ms instead of
  /// the default second, so that a test does not wait on failover.
  [[nodiscard]] Connection connect_from(std::size_t first) const;

  /// Kills node i (SIGKILL) and starts a new one in its place, routed to node 0 (or node 1 when
  /// i is 0). Returns once the new node is ready, which includes having the catalogue; routes
  /// to the other nodes may still be forming.
  RegistryProcess& restart(std::size_t i);

 private:
  std::unique_ptr<RegistryProcess> start_node(std::size_t i,
                                              const std::vector<std::string>& routes) const;

  Options options_;
  std::vector<std::unique_ptr<RegistryProcess>> nodes_;
};

}  // namespace polaris::test
