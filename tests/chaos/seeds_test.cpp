// Nodes that restart while another is down (docs/OPERATIONS.md, "Seed nodes"): with `--node N`
// every seed routes to every other one, so a restarting node meets the survivors whichever node
// is down; and a node that met no peer never answers a list as if its catalogue were whole.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "polaris/polaris.hpp"
#include "support/cluster.hpp"
#include "support/errors.hpp"
#include "support/process_fixtures.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using test::RawNats;
using test::RegistryProcess;

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

/// The first of `count` consecutive free ports, away from the seed defaults other runs use.
int free_ports(int count) {
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> base(20000, 60000);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int first = base(random);
    bool all = true;
    for (int i = 0; i < count && all; ++i) all = port_free(first + i);
    if (all) return first;
  }
  throw Error(Errc::process, "no free ports");
}

/// A cluster started as operators do: `polaris registry --node N --seeds 3`, on ports of its own.
class SeedCluster {
 public:
  SeedCluster() : cluster_port_(free_ports(3)), client_port_(free_ports(3)) {
    for (int node = 1; node <= 3; ++node) start(node);
    for (const auto& from : nodes_) {
      for (const auto& to : nodes_) {
        if (from != to) test::await_route(*from, *to);
      }
    }
  }

  RegistryProcess& start(int node) {
    auto& slot = nodes_.at(static_cast<std::size_t>(node - 1));
    slot.reset();
    slot = std::make_unique<RegistryProcess>(std::vector<std::string>{
        "--node", std::to_string(node), "--seeds", "3", "--seed-cluster-port",
        std::to_string(cluster_port_), "--cluster-name", "seeds" + std::to_string(cluster_port_),
        "--port", std::to_string(client_port_ + node - 1), "--sync-timeout", "500ms"});
    return *slot;
  }
  RegistryProcess& node(int node) { return *nodes_.at(static_cast<std::size_t>(node - 1)); }
  void kill(int node) { nodes_.at(static_cast<std::size_t>(node - 1))->kill_hard(); }
  [[nodiscard]] std::vector<std::string> urls() const {
    std::vector<std::string> urls;
    for (int node = 0; node < 3; ++node) {
      urls.push_back("nats://127.0.0.1:" + std::to_string(client_port_ + node));
    }
    return urls;
  }

 private:
  int cluster_port_;
  int client_port_;
  std::array<std::unique_ptr<RegistryProcess>, 3> nodes_;
};

Tool echo_tool(const std::string& name) {
  return Tool{.name = name, .handler = [](const Request&) -> Result { return {{"ok", true}}; }};
}

/// The names a list on `node`'s clients gets (answered by any node of the queue group).
std::optional<std::set<std::string>> listed_on(const RegistryProcess& node) {
  try {
    return test::names_on(node);
  } catch (const Error&) {
    return std::nullopt;  // nobody answered
  }
}

TEST(ChaosSeeds, AnyNodeRestartsWhileAnotherIsDownAndJoinsTheSurvivors) {
  SeedCluster cluster;
  ConnectOptions options{.servers = cluster.urls()};
  options.reconnect_wait = 50ms;
  Connection alpha(options);
  alpha.register_tool(echo_tool("alpha"));
  std::reverse(options.servers.begin(), options.servers.end());
  Connection beta(options);
  beta.register_tool(echo_tool("beta"));
  const std::set<std::string> tools{"alpha", "beta"};
  for (int node = 1; node <= 3; ++node) {
    ASSERT_TRUE(test::wait_until([&] { return listed_on(cluster.node(node)) == tools; }));
  }
  // Every ordered pair: `down` dies, then `restarted` is killed and started again.
  for (int down = 1; down <= 3; ++down) {
    for (int restarted = 1; restarted <= 3; ++restarted) {
      if (down == restarted) continue;
      SCOPED_TRACE("node " + std::to_string(down) + " down, node " + std::to_string(restarted) +
                   " restarted");
      cluster.kill(down);
      cluster.kill(restarted);
      RegistryProcess& back = cluster.start(restarted);
      // Ready means it copied the catalogue from the survivor: every list is whole at once.
      for (int i = 0; i < 20; ++i) EXPECT_EQ(listed_on(back), tools);
      // Its clients reach the tools (the agents may still be moving to the survivor).
      ConnectOptions only_back{.servers = {back.client_url()}};
      Connection caller(only_back);
      for (const auto& tool : tools) {
        EXPECT_TRUE(test::wait_until([&] {
          try {
            return caller.call(tool, Json::object(), {.timeout = 1s})["ok"] == true;
          } catch (const Error&) {
            return false;
          }
        })) << tool;
      }
      cluster.start(down);
      for (int node = 1; node <= 3; ++node) {
        ASSERT_TRUE(test::wait_until([&] { return listed_on(cluster.node(node)) == tools; }))
            << "node " << node;
      }
    }
  }
}

TEST(ChaosSeeds, ANodeThatMetNoPeerAnswersNoListUntilItMergedOne) {
  // `first` holds a tool; `lonely` is routed only to a port where `bridge` will listen later,
  // so it starts without meeting anyone.
  RegistryProcess first(test::cluster_node_args("lonely-test"));
  ConnectOptions at_first{.servers = {first.client_url()}};
  Connection agent(at_first);
  agent.register_tool(echo_tool("kept"));
  const int bridge_port = free_ports(1);
  const std::string bridge_route = "nats://127.0.0.1:" + std::to_string(bridge_port);
  auto lonely_args = test::cluster_node_args("lonely-test", {bridge_route});
  lonely_args.insert(lonely_args.end(), {"--sync-timeout", "300ms"});
  RegistryProcess lonely(lonely_args);

  // No node answers a list on its clients: not an empty catalogue, which would be wrong.
  RawNats raw(lonely.client_url());
  EXPECT_EQ(test::code_of([&] { raw.request("polaris:tool:list", "", 500); }), Errc::no_such_tool)
      << "no responders";
  Connection client(ConnectOptions{.servers = {lonely.client_url()}});
  EXPECT_EQ(test::code_of([&] { (void)client.list_tools(); }), Errc::no_registry);
  // It takes registrations meanwhile.
  const Json registered = Json::parse(raw.request(
      "polaris:tool:register", Json{{"name", "late"}, {"description", "reference"}}.dump()));
  EXPECT_TRUE(registered["success"].get<bool>()) << registered;

  // Its route comes up: it merges its new peer's catalogue, then answers whole lists.
  auto bridge_args = test::cluster_node_args("lonely-test", {first.cluster_url()});
  bridge_args[3] = std::to_string(bridge_port);  // --cluster-port
  RegistryProcess bridge(bridge_args);
  const std::set<std::string> whole{"kept", "late"};
  EXPECT_TRUE(test::wait_until([&] {
    const auto names = listed_on(lonely);
    // Any answer it gives is whole ("late" may still be on its way to the others).
    if (names) {
      EXPECT_EQ(names->count("kept"), 1U) << ::testing::PrintToString(*names);
    }
    return names == whole;
  }));
}

}  // namespace
}  // namespace polaris
