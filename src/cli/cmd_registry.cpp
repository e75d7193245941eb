// `polaris registry`: run one registry node until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "cli/common.hpp"
#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "polaris/registry.hpp"
#include "polaris/security.hpp"

namespace polaris::cli {
namespace {

struct RegistryFlags {
  RegistryOptions options;
  int node = 0;
  int seeds = 3;
  int seed_cluster_port = 5222;  // node 1's; node N's is this + N - 1
  std::string keepalive_deadline;
  std::string agent_timeout;
  std::string claim_window;
  std::string replication_timeout;
  std::string sync_timeout;
  std::string ping_interval;
  std::string ready_file;
  std::string metrics;  // HOST:PORT
  std::string monitor;  // HOST:PORT
  std::string disconnect_grace;
  std::string config_file;
};

// "127.0.0.1:9464" -> Endpoint; "9464" alone means 127.0.0.1 (metrics stay local unless asked).
Endpoint parse_listen_address(const std::string& text, const std::string& flag) {
  const auto colon = text.rfind(':');
  const std::string host = colon == std::string::npos ? "127.0.0.1" : text.substr(0, colon);
  const std::string port = colon == std::string::npos ? text : text.substr(colon + 1);
  std::size_t used = 0;
  int value = -1;
  try {
    value = std::stoi(port, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (host.empty() || used != port.size() || value < 0 || value > 65535) {
    throw CLI::ValidationError(flag, "'" + text + "' is not HOST:PORT");
  }
  return Endpoint{.host = host, .port = value};
}

// The seed's numbering: node N listens on 4221+N, routes on 5221+N. Every node routes to every
// other seed node (1..seeds), so that a node restarting while any one seed is down still meets
// the others (nats-server keeps dialling a seed that is down, and de-duplicates the routes two
// nodes make to each other). Advertise is the cluster address (host:cluster-port), which route
// gossip needs.
void apply_node_defaults(CLI::App& command, RegistryFlags& flags) {
  if (flags.node <= 0) {
    for (const char* name : {"--seeds", "--seed-cluster-port"}) {
      if (command.get_option(name)->count() > 0) {
        throw CLI::ValidationError(name, "only applies with --node");
      }
    }
    return;
  }
  auto unset = [&](const char* name) { return command.get_option(name)->count() == 0; };
  RegistryOptions& o = flags.options;
  if (unset("--port")) o.bind.port = 4221 + flags.node;
  if (unset("--cluster-name")) o.cluster.name = "polaris-cluster";
  const int base = flags.seed_cluster_port;
  if (unset("--cluster-port")) o.cluster.port = base + flags.node - 1;
  if (unset("--cluster-advertise")) {
    o.cluster.advertise = o.cluster.host + ":" + std::to_string(o.cluster.port);
  }
  if (unset("--route")) {
    o.routes.clear();
    for (int seed = 1; seed <= flags.seeds; ++seed) {
      if (seed != flags.node) {
        o.routes.push_back("nats://127.0.0.1:" + std::to_string(base + seed - 1));
      }
    }
  }
}

// A node's name stays the same across restarts, so that `polaris status` and the peers' counts
// take a restarted node for the same node: node-N with --node N, else the cluster address it
// advertises. A node with neither (no cluster, or cluster port 0) keeps a generated name.
void apply_default_name(const RegistryFlags& flags, RegistryOptions& o) {
  if (!o.server_name.empty() || !o.nats_urls.empty()) return;
  if (flags.node > 0) {
    o.server_name = "node-" + std::to_string(flags.node);
  } else if (!o.cluster.name.empty() && !o.cluster.advertise.empty()) {
    o.server_name = o.cluster.advertise;
  } else if (!o.cluster.name.empty() && o.cluster.port > 0) {
    o.server_name = o.cluster.host + ":" + std::to_string(o.cluster.port);
  }
}

// nats-server listens for routes only with a cluster name: without one, a cluster flag would
// be silently ignored.
void check_cluster_flags(CLI::App& command, const RegistryFlags& flags) {
  if (!flags.options.cluster.name.empty() || !flags.options.nats_urls.empty()) return;
  for (const char* name : {"--cluster-port", "--cluster-host", "--cluster-advertise", "--route"}) {
    if (command.get_option(name)->count() > 0) {
      throw CLI::ValidationError(name, "needs --cluster-name (or --node)");
    }
  }
}

// nats-server refuses a max_payload above its max_pending (64 MiB).
CLI::Validator max_payload_check() {
  constexpr std::int64_t kMax = std::int64_t{64} * 1024 * 1024;
  return {[](std::string& input) -> std::string {
            std::size_t used = 0;
            std::int64_t value = 0;
            try {
              value = std::stoll(input, &used);
            } catch (const std::exception&) {
              used = 0;
            }
            if (used != input.size() || used == 0 || value < 1 || value > kMax) {
              return "'" + input + "' is not a size in bytes from 1 to " + std::to_string(kMax) +
                     " (64 MiB)";
            }
            return {};
          },
          "BYTES"};
}

// Written once the node serves, atomically (rename), so scripts and tests can wait for it.
void write_ready_file(const std::string& path, const Registry& registry) {
  const Json ready{{"client_url", registry.client_url()},
                   {"cluster_url", registry.cluster_url()},
                   {"node", registry.node_id()},
                   {"metrics_url", registry.metrics_url()},
                   {"monitoring_url", registry.monitoring_url()},
                   {"pid", ::getpid()}};
  const std::string temporary = path + ".tmp";
  {
    std::ofstream file(temporary);
    file << ready.dump() << '\n';
    if (!file) throw Error(Errc::invalid_argument, "cannot write the ready file " + path);
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace

void add_registry_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<RegistryFlags>();
  RegistryOptions& o = flags->options;
  CLI::App* command = app.add_subcommand(
      "registry", "Run a registry node: a supervised nats-server plus the tool catalogue");
  command
      ->add_option("--node", flags->node,
                   "Seed numbering: client port 4221+N, cluster port 5221+N, cluster "
                   "polaris-cluster, routes to the cluster ports of every other seed node "
                   "(see --seeds; explicit flags win)")
      ->check(CLI::Range(1, 1000));
  command
      ->add_option("--seeds", flags->seeds,
                   "With --node: how many seed nodes there are (routes to cluster ports "
                   "5222..5221+SEEDS)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  command
      ->add_option("--seed-cluster-port", flags->seed_cluster_port,
                   "With --node: the cluster port of seed node 1 (node N uses this + N - 1), "
                   "e.g. to run two seed clusters on one host")
      ->check(CLI::Range(1, 65535 - 1000))
      ->capture_default_str();
  command->add_option("--host", o.bind.host, "Client bind address")->capture_default_str();
  command->add_option("--port", o.bind.port, "Client port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  command->add_option("--max-payload", o.max_payload, "Max message size in bytes")
      ->check(max_payload_check())
      ->capture_default_str();
  command->add_option("--cluster-name", o.cluster.name,
                      "Cluster name: enables clustering; the other --cluster-* flags and --route "
                      "need it (or --node)");
  command->add_option("--cluster-host", o.cluster.host, "Cluster bind address")
      ->capture_default_str();
  command->add_option("--cluster-port", o.cluster.port, "Cluster port (0: any free port)")
      ->check(CLI::Range(0, 65535));
  command->add_option("--cluster-advertise", o.cluster.advertise,
                      "host:cluster-port other nodes should dial");
  command
      ->add_option("--route", o.routes,
                   "Route URL of another node (nats://HOST:CLUSTER-PORT), repeatable")
      ->allow_extra_args(false);
  command->add_option("--keepalive-deadline", flags->keepalive_deadline,
                      "Remove tools not kept alive for this long (e.g. 30s, 10m; default 10m)");
  command->add_option(
      "--agent-timeout", flags->agent_timeout,
      "Declare a polaris agent gone after this much heartbeat silence (default 2.5s)");
  command->add_option("--claim-window", flags->claim_window,
                      "Wait this long for concurrent registrations on other nodes (default 20ms)");
  command->add_option("--replication-timeout", flags->replication_timeout,
                      "Acknowledge a change once every live peer applied it, or after this long "
                      "(default 1s; 0: do not wait)");
  command->add_option("--sync-timeout", flags->sync_timeout,
                      "Look this long for a peer to copy the catalogue from at start (default 2s)");
  command->add_option("--client-ping-interval", flags->ping_interval,
                      "nats-server pings clients this often; 3 missed pings disconnect "
                      "(default 1s; 0: nats-server's default)");
  command->add_flag("--allow-overwrite", o.allow_overwrite,
                    "A registration may replace a tool of the same name");
  command
      ->add_option("--nats-url", o.nats_urls,
                   "Attach to an existing NATS server instead of starting one, repeatable")
      ->allow_extra_args(false);
  command->add_option("--nats-server", o.nats_server_path,
                      "nats-server binary (default: $POLARIS_NATS_SERVER, else from PATH)");
  command->add_option("--server-name", o.server_name,
                      "This node's name (its nats-server's server_name), the same across "
                      "restarts (default: node-N with --node N, else the cluster address "
                      "HOST:CLUSTER-PORT, else a generated one)");
  command->add_option("--config", flags->config_file,
                      "Security configuration (YAML): users, roles, tool allow-lists, TLS; "
                      "re-read on SIGHUP (docs/SECURITY.md)");
  command->add_option(
      "--ready-file", flags->ready_file,
      "Write {client_url, cluster_url, node, metrics_url, monitoring_url, pid} as JSON here once "
      "serving");
  command->add_option("--metrics", flags->metrics,
                      "Serve Prometheus metrics on HOST:PORT at /metrics, and the probes /healthz "
                      "(alive) and /readyz (connected and catalogue synced) (port 0: any free "
                      "port)");
  command->add_option("--monitor", flags->monitor,
                      "Open nats-server's HTTP monitoring endpoint on HOST:PORT (port 0: any free "
                      "port). Unauthenticated: it shows every connection (docs/SECURITY.md)");
  command->add_option("--disconnect-grace", flags->disconnect_grace,
                      "Withdraw an agent whose connection closed unless it connects again "
                      "within this long (default 50ms; 0: heartbeats only)");

  command->callback([command, flags, &exit_code] {
    try {
      RegistryOptions& options = flags->options;
      apply_node_defaults(*command, *flags);
      check_cluster_flags(*command, *flags);
      apply_default_name(*flags, options);
      if (!flags->config_file.empty()) {
        flags->options.security = load_security_config(flags->config_file);
      }
      if (!flags->metrics.empty()) {
        flags->options.metrics = parse_listen_address(flags->metrics, "--metrics");
      }
      if (!flags->monitor.empty()) {
        flags->options.monitor = parse_listen_address(flags->monitor, "--monitor");
      }
      auto duration = [](const std::string& text, std::chrono::milliseconds& into) {
        if (!text.empty()) into = parse_duration(text);
      };
      duration(flags->keepalive_deadline, options.keepalive_deadline);
      duration(flags->agent_timeout, options.agent_timeout);
      duration(flags->claim_window, options.claim_window);
      duration(flags->replication_timeout, options.replication_timeout);
      duration(flags->sync_timeout, options.sync_timeout);
      duration(flags->ping_interval, options.client_ping_interval);
      duration(flags->disconnect_grace, options.disconnect_grace);
      auto registry = Registry::start(flags->options);
      if (!flags->ready_file.empty()) write_ready_file(flags->ready_file, registry);
      registry.run_until_shutdown();
      registry.close();
      if (!flags->ready_file.empty()) std::remove(flags->ready_file.c_str());
    } catch (const CLI::ValidationError& error) {
      print_error(error.what());
      exit_code = kUsage;
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = exit_code_for(error) == kUsage ? kUsage : kFailure;
    }
  });
}

}  // namespace polaris::cli
