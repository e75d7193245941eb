// `polaris status` against a 3-node cluster of real registry processes: every node listed with
// healthy peers; a killed node is shown as down, by name; a restarted node takes its old entry
// over; a node stopped on purpose is not down; nodes are named node-N or by cluster address.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

#include <map>
#include <set>
#include <sstream>

#include "http/http_client.hpp"
#include "polaris/polaris.hpp"
#include "registry/nats_server.hpp"
#include "support/cluster.hpp"
#include "support/metrics_sample.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"
#include "support/wait.hpp"
#include "transport/subscription.hpp"

namespace polaris {
namespace {

using test::run_polaris;

// `polaris status --json` through `servers`; nullopt when it failed.
std::optional<Json> status_json(const std::vector<std::string>& servers) {
  // --wait 1s: a node slowed down by a loaded machine still counts as answering.
  std::vector<std::string> args{"status", "--json", "--wait", "1s"};
  for (const auto& url : servers) args.insert(args.end(), {"--server", url});
  const auto result = run_polaris(args);
  if (result.exit_code != 0) return std::nullopt;
  return Json::parse(result.out);
}

/// Whether nothing listens on 127.0.0.1:`port` (a bind succeeds), leaving it free.
bool port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return free;
}

int free_port() {
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 60000);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (const int port = pick(random); port_free(port)) return port;
  }
  throw Error(Errc::process, "no free port");
}

bool all_peers_up(const Json& report, std::size_t nodes) {
  if (report.at("nodes").size() != nodes || !report.at("missing").empty()) return false;
  for (const auto& node : report.at("nodes")) {
    if (node.at("peers_up") != nodes - 1 || node.at("peers").size() != nodes - 1) return false;
  }
  return true;
}

class ObserveClusterTest : public ::testing::Test {
 protected:
  test::TestCluster cluster_{
      {.name = "obs-test", .node_args = [](std::size_t i) {
         return std::vector<std::string>{"--server-name", "node-" + std::to_string(i + 1)};
       }}};
};

TEST_F(ObserveClusterTest, EveryNodeListedAndAKilledNodeShownDown) {
  const std::vector<std::string> servers{cluster_.node(0).client_url(),
                                         cluster_.node(1).client_url()};
  // The routes are up; what each node reports of its peers follows asynchronously.
  std::optional<Json> report;
  ASSERT_TRUE(test::wait_until(
      [&] {
        report = status_json(servers);
        return report && all_peers_up(*report, 3);
      },
      std::chrono::seconds(30)))
      << (report ? report->dump(2) : "no report");
  std::set<std::string> names;
  std::set<std::string> client_urls;
  std::map<std::string, std::string> id_of;
  for (const auto& node : report->at("nodes")) {
    names.insert(node.at("node").get<std::string>());
    client_urls.insert(node.at("client_url").get<std::string>());
    id_of[node.at("node").get<std::string>()] = node.at("server_id").get<std::string>();
    EXPECT_EQ(node.at("cluster"), "obs-test");
    EXPECT_EQ(node.at("version"), std::string(version()));
    EXPECT_TRUE(node.at("monitoring").get<bool>());
    EXPECT_EQ(node.at("tools"), 0);
    for (const auto& peer : node.at("peers")) EXPECT_TRUE(peer.at("up").get<bool>());
  }
  EXPECT_EQ(names, (std::set<std::string>{"node-1", "node-2", "node-3"}));
  EXPECT_EQ(client_urls,
            (std::set<std::string>{cluster_.node(0).client_url(), cluster_.node(1).client_url(),
                                   cluster_.node(2).client_url()}));

  // The table: a header, one row per node, a summary.
  std::vector<std::string> args{"status", "--wait", "1s", "--server",
                                cluster_.node(0).client_url()};
  const auto table = run_polaris(args);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("NODE", 0), 0U) << table.out;
  for (const auto& node : cluster_.nodes())
    EXPECT_NE(table.out.find(node->client_url()), std::string::npos);
  EXPECT_NE(table.out.find(" 2/2 "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("3 of 3 nodes answering\n"), std::string::npos) << table.out;

  // A tool registered anywhere is counted by every node.
  auto agent = connect({.servers = {cluster_.node(2).client_url()}});
  agent.register_tool(
      {.name = "echo", .handler = [](const Request& r) { return Result(r.json()); }});
  EXPECT_TRUE(test::wait_until([&] {
    report = status_json(servers);
    if (!report) return false;
    for (const auto& node : report->at("nodes")) {
      if (node.at("tools") != 1) return false;
    }
    return true;
  }));
  agent.close();

  cluster_.node(2).kill_hard();
  // The survivors lose their route to node 3 and report it down.
  ASSERT_TRUE(test::wait_until(
      [&] {
        report = status_json(servers);
        return report && report->at("nodes").size() == 2 && report->at("missing").size() == 1 &&
               report->at("missing")[0].at("state") == "down";
      },
      std::chrono::seconds(30)))
      << (report ? report->dump(2) : "no report");
  const Json& missing = report->at("missing")[0];
  EXPECT_EQ(missing.at("server_id"), id_of["node-3"]);
  EXPECT_EQ(missing.at("node"), "node-3");
  EXPECT_EQ(missing.at("reported_by").size(), 2U);
  for (const auto& node : report->at("nodes")) EXPECT_EQ(node.at("peers_up"), 1);

  const auto after = run_polaris(args);
  EXPECT_NE(after.out.find("\nnode-3 "), std::string::npos) << after.out;  // its name, not its id
  EXPECT_NE(after.out.find("down"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("2 of 3 nodes answering\n"), std::string::npos) << after.out;
}

// polaris_registry_peers and _peers_up of node 1, scraped from its metrics.
std::pair<double, double> peer_metrics(const std::string& url) {
  const auto response = http::perform({.method = "GET", .url = url});
  return {test::sample(response.body, "polaris_registry_peers").value_or(-1),
          test::sample(response.body, "polaris_registry_peers_up").value_or(-1)};
}

TEST(ObserveRestart, ARestartedNodeReplacesItsEntryAndAStoppedNodeIsNotDown) {
  const std::string metrics = "127.0.0.1:" + std::to_string(free_port());
  test::TestCluster cluster_{
      {.name = "obs-restart", .node_args = [&](std::size_t i) {
         std::vector<std::string> args{"--server-name", "node-" + std::to_string(i + 1)};
         if (i == 0) args.insert(args.end(), {"--metrics", metrics});
         return args;
       }}};
  const std::string metrics_url = "http://" + metrics + "/metrics";
  const std::vector<std::string> servers{cluster_.node(0).client_url(),
                                         cluster_.node(1).client_url()};
  std::optional<Json> report;
  ASSERT_TRUE(test::wait_until(
      [&] {
        report = status_json(servers);
        return report && all_peers_up(*report, 3);
      },
      std::chrono::seconds(30)))
      << (report ? report->dump(2) : "no report");

  // Killed and started again under its name: a new nats-server id, the same node.
  cluster_.restart(2);
  ASSERT_TRUE(test::wait_until(
      [&] {
        report = status_json(servers);
        return report && all_peers_up(*report, 3);
      },
      std::chrono::seconds(30)))
      << (report ? report->dump(2) : "no report");
  for (const auto& node : report->at("nodes")) {
    for (const auto& peer : node.at("peers"))
      EXPECT_FALSE(peer.at("name").get<std::string>().empty());
  }
  std::vector<std::string> args{"status", "--wait", "1s", "--server",
                                cluster_.node(0).client_url()};
  const auto table = run_polaris(args);
  EXPECT_NE(table.out.find("3 of 3 nodes answering\n"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("down"), std::string::npos) << table.out;

  // SIGTERM: the node stops on purpose; its peers do not report it down.
  cluster_.node(2).process().stop();
  ASSERT_TRUE(test::wait_until(
      [&] {
        report = status_json(servers);
        return report && report->at("nodes").size() == 2 && report->at("left").size() == 1;
      },
      std::chrono::seconds(30)))
      << (report ? report->dump(2) : "no report");
  EXPECT_TRUE(report->at("missing").empty()) << report->dump(2);
  EXPECT_EQ(report->at("left")[0].at("node"), "node-3");
  for (const auto& node : report->at("nodes")) EXPECT_EQ(node.at("peers_up"), 1);
  const auto stopped = run_polaris(args);
  EXPECT_NE(stopped.out.find("2 of 2 nodes answering (node-3 stopped on purpose)\n"),
            std::string::npos)
      << stopped.out;
  EXPECT_NE(stopped.out.find(" 1/1 "), std::string::npos) << stopped.out;
  EXPECT_EQ(stopped.out.find("down"), std::string::npos) << stopped.out;
  EXPECT_EQ(peer_metrics(metrics_url), std::make_pair(1.0, 1.0));
}

// A node's name without --server-name: node-N with --node N, else its cluster address.
TEST(ObserveNames, NodeNamesAreStable) {
  const int seed_port = free_port();
  test::RegistryProcess seed({"--node", "1", "--seeds", "1", "--seed-cluster-port",
                              std::to_string(seed_port), "--cluster-name",
                              "names" + std::to_string(seed_port)});
  auto report = status_json({seed.client_url()});
  ASSERT_TRUE(report);
  EXPECT_EQ(report->at("nodes")[0].at("node"), "node-1");

  const int cluster_port = free_port();
  test::RegistryProcess plain({"--cluster-name", "plain" + std::to_string(cluster_port),
                               "--cluster-port", std::to_string(cluster_port)});
  report = status_json({plain.client_url()});
  ASSERT_TRUE(report);
  EXPECT_EQ(report->at("nodes")[0].at("node"), "127.0.0.1:" + std::to_string(cluster_port));
}

// /readyz: a node given a route that meets no peer may miss the catalogue (it answers no list):
// not ready (503) until it has merged a peer's; /healthz says it is alive all along.
TEST(ObserveProbes, ReadyOnceTheCatalogueIsSynced) {
  const std::string metrics = "127.0.0.1:" + std::to_string(free_port());
  const int peer_port = free_port();
  const std::string cluster = "probes" + std::to_string(peer_port);
  test::RegistryProcess lonely({"--cluster-name", cluster, "--route",
                                "nats://127.0.0.1:" + std::to_string(peer_port), "--sync-timeout",
                                "200ms", "--metrics", metrics});
  const std::string base = "http://" + metrics;
  const auto waiting = http::perform({.method = "GET", .url = base + "/readyz"});
  EXPECT_EQ(waiting.status, 503);
  EXPECT_EQ(waiting.body.rfind("not ready: ", 0), 0U) << waiting.body;
  EXPECT_EQ(http::perform({.method = "GET", .url = base + "/healthz"}).status, 200);

  test::RegistryProcess peer(
      {"--cluster-name", cluster, "--cluster-port", std::to_string(peer_port)});
  EXPECT_TRUE(test::wait_until(
      [&] { return http::perform({.method = "GET", .url = base + "/readyz"}).status == 200; },
      std::chrono::seconds(30)));
}

// /readyz while the node is not connected to its nats-server. A registry that runs its own
// nats-server exits when that child dies (and its supervisor, systemd for instance, restarts
// it); one attached to a nats-server it does not run (--nats-url) stays up and reconnects. While
// that server is away the node is alive (/healthz 200) but not ready (503, with the reason), and
// ready again once the server is back on the same port.
TEST(ObserveProbes, NotReadyWhileDisconnectedFromNatsServer) {
  RegistryOptions server_options{.bind = {.port = 0}};
  auto nats = std::make_unique<detail::NatsServer>(server_options, spdlog::default_logger());
  const std::string nats_url = nats->client_url();
  const std::string metrics = "127.0.0.1:" + std::to_string(free_port());
  test::RegistryProcess node({"--nats-url", nats_url, "--metrics", metrics});
  const std::string base = "http://" + metrics;
  const auto readyz = [&] { return http::perform({.method = "GET", .url = base + "/readyz"}); };
  ASSERT_TRUE(test::wait_until([&] { return readyz().status == 200; }, std::chrono::seconds(30)));
  EXPECT_EQ(readyz().body, "ready\n");

  nats.reset();  // nats-server stops; the registry process keeps running
  ASSERT_TRUE(test::wait_until([&] { return readyz().status == 503; }, std::chrono::seconds(30)));
  const auto away = readyz();
  EXPECT_EQ(away.body, "not ready: not connected to nats-server\n");
  EXPECT_EQ(http::perform({.method = "GET", .url = base + "/healthz"}).status, 200);

  server_options.bind.port = test::port_of(nats_url);
  nats = std::make_unique<detail::NatsServer>(server_options, spdlog::default_logger());
  EXPECT_TRUE(test::wait_until([&] { return readyz().status == 200; }, std::chrono::seconds(30)));
}

TEST_F(ObserveClusterTest, WatchPrintsOneReportPerRound) {
  const auto result = run_polaris({"status", "--json", "--watch", "100ms", "--count", "2",
                                   "--server", cluster_.node(0).client_url()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  int rounds = 0;
  for (std::string line; std::getline(lines, line); ++rounds) {
    const Json report = Json::parse(line);
    EXPECT_FALSE(report.at("nodes").empty());
  }
  EXPECT_EQ(rounds, 2);
}

}  // namespace
}  // namespace polaris
