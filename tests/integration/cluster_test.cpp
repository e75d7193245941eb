// Three registry processes in a cluster: propagation, and failover when a node is SIGKILLed.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <fstream>
#include <set>

#include "http/http_client.hpp"
#include "polaris/polaris.hpp"
#include "registry/nats_server.hpp"
#include "support/calculator.hpp"
#include "support/metrics_sample.hpp"
#include "support/process_fixtures.hpp"
#include "support/wait.hpp"
#include "transport/subscription.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using test::add;
using test::calculator;
using test::RegistryProcess;

// Routes connect asynchronously: a node has joined once a subscription made on it is visible
// from the first node.
void await_route(const RegistryProcess& from, const RegistryProcess& to) {
  test::RawNats listener(to.client_url());
  detail::Subscription probe(listener.get(), "polaris-test.probe", "", [&](detail::NatsMsgPtr msg) {
    natsConnection_PublishString(listener.get(), natsMsg_GetReply(msg.get()), "here");
  });
  natsConnection_Flush(listener.get());
  test::RawNats speaker(from.client_url());
  const bool joined = test::wait_until([&] {
    try {
      return speaker.request("polaris-test.probe", "", 200) == "here";
    } catch (const Error&) {
      return false;
    }
  });
  ASSERT_TRUE(joined) << "no route from " << from.client_url() << " to " << to.client_url();
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nodes_.push_back(std::make_unique<RegistryProcess>(
        std::vector<std::string>{"--cluster-name", "polaris-test", "--cluster-port", "0"}));
    for (int i = 0; i < 2; ++i) {
      nodes_.push_back(std::make_unique<RegistryProcess>(
          std::vector<std::string>{"--cluster-name", "polaris-test", "--cluster-port", "0",
                                   "--route", nodes_[0]->cluster_url()}));
    }
    await_route(*nodes_[0], *nodes_[1]);
    await_route(*nodes_[0], *nodes_[2]);
    await_route(*nodes_[1], *nodes_[2]);
  }

  std::vector<std::string> all_urls() const {
    std::vector<std::string> urls;
    for (const auto& node : nodes_) urls.push_back(node->client_url());
    return urls;
  }

  std::vector<std::unique_ptr<RegistryProcess>> nodes_;
};

TEST_F(ClusterTest, ToolRegisteredThroughNodeOneIsListedAndCallableThroughNodeThree) {
  auto agent = connect({.servers = {nodes_[0]->client_url()}});
  agent.register_tool(calculator());
  auto client = connect({.servers = {nodes_[2]->client_url()}});
  // The registration was acknowledged by the first node to answer; node 3 applies it at about
  // the same time (per-node catalogues, as in the reference), so await it.
  ASSERT_TRUE(test::wait_until([&] { return client.list_tools().size() == 1; }));
  const auto tools = client.list_tools();
  EXPECT_EQ(tools[0].name, "calculator");
  EXPECT_EQ(client.call("calculator", add(1, 2))["result"], 3.0);
  // Every node received the registration.
  for (const auto& node : nodes_) {
    test::RawNats raw(node->client_url());
    EXPECT_TRUE(test::wait_until(
        [&] { return Json::parse(raw.request("polaris:tool:list", "")).size() == 1; }));
  }
  agent.close();
  EXPECT_TRUE(test::wait_until([&] { return client.list_tools().empty(); }));
}

TEST_F(ClusterTest, FailoverWhenTheSharedNodeIsKilled) {
  ConnectOptions options{.servers = all_urls(), .reconnect_wait = 100ms};
  options.randomize = false;  // both start on node 1
  auto agent = connect(options);
  auto client = connect(options);
  ASSERT_EQ(agent.connected_url(), nodes_[0]->client_url());
  ASSERT_EQ(client.connected_url(), nodes_[0]->client_url());
  agent.register_tool(calculator());
  ASSERT_EQ(client.call("calculator", add(1, 2))["result"], 3.0);

  const int killed_port = test::port_of(nodes_[0]->client_url());
  const auto nats_server_pids = nodes_[0]->child_pids();
  ASSERT_EQ(nats_server_pids.size(), 1U);
  nodes_[0]->kill_hard();

  // Its nats-server died with it: the port stops accepting.
  EXPECT_TRUE(test::wait_until([&] { return !test::port_accepts(killed_port); }));
  // Both reconnect elsewhere.
  ASSERT_TRUE(test::wait_until([&] {
    return agent.connected() && client.connected() &&
           agent.connected_url() != nodes_[0]->client_url() &&
           client.connected_url() != nodes_[0]->client_url();
  }));
  // The agent's subscription is re-established on its new node and reaches the client's node.
  ASSERT_TRUE(test::wait_until([&] {
    try {
      return client.call("calculator", add(2, 2))["result"] == 4.0;
    } catch (const Error&) {
      return false;
    }
  }));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(client.call("calculator", add(i, i))["result"], 2.0 * i);
  const auto tools = client.list_tools();
  ASSERT_EQ(tools.size(), 1U);
  EXPECT_EQ(tools[0].name, "calculator");
  // Nothing left broken: the agent can still register and unregister (awaited: the client may
  // list through another node than the one that acknowledged).
  agent.register_tool(calculator("second"));
  EXPECT_TRUE(test::wait_until([&] { return client.list_tools().size() == 2; }));
  EXPECT_EQ(client.call("second", add(1, 1))["result"], 2.0);
  agent.unregister_tool("second");
  EXPECT_TRUE(test::wait_until([&] { return client.list_tools().size() == 1; }));
}

// The names the registry attached to `url` lists (it answers its own server's clients first).
std::set<std::string> names_at(const std::string& url) {
  try {
    test::RawNats raw(url);
    std::set<std::string> names;
    for (const auto& tool : Json::parse(raw.request("polaris:tool:list", "", 500))) {
      names.insert(tool["name"].get<std::string>());
    }
    return names;
  } catch (const std::exception&) {
    return {};
  }
}

// How many peer catalogues `registry` merged into its own (its Prometheus metrics).
double merges_of(const Registry& registry) {
  const auto response = http::perform({.method = "GET", .url = registry.metrics_url()});
  return test::sample(response.body, "polaris_registry_catalogue_merges_total").value_or(-1);
}

// Replication events are core NATS messages: a registry whose NATS server was away for a moment
// misses the ones sent meanwhile. The digests in the node heartbeats show the difference, and
// the nodes merge each other's catalogue: without that, the node that missed them would list a
// tool of a live agent that was unregistered, and miss a reference agent's registration, until
// the keepalive deadline (10 minutes).
TEST(ClusterConvergence, ARegistryThatMissedEventsCatchesUpFromItsPeer) {
  const auto log = spdlog::default_logger();
  // Clients do not learn of the other server: the second registry cannot reconnect there.
  const detail::NatsConfigExtras hidden{.cluster = "  no_advertise: true\n"};
  RegistryOptions first_options{.bind = {.port = 0}, .cluster = {.name = "converge"}};
  detail::NatsServer first_nats(first_options, log, hidden);
  RegistryOptions second_options{
      .bind = {.port = 0}, .cluster = {.name = "converge"}, .routes = {first_nats.cluster_url()}};
  auto second_nats = std::make_unique<detail::NatsServer>(second_options, log, hidden);
  const std::string second_url = second_nats->client_url();
  RegistryOptions alone{.nats_urls = {first_nats.client_url()}};
  alone.sync_timeout = 100ms;  // no peer to wait for
  auto first = Registry::start(alone);
  auto second = Registry::start({.nats_urls = {second_url}, .metrics = Endpoint{.port = 0}});

  auto agent = connect({.servers = {first_nats.client_url()}});
  agent.register_tool(calculator("kept"));
  agent.register_tool(calculator("dropped"));
  const std::set<std::string> both{"dropped", "kept"};
  ASSERT_TRUE(test::wait_until([&] { return names_at(second_url) == both; }));

  // The second registry's server goes away; meanwhile a tool is unregistered and a reference
  // agent (no heartbeats, so nothing else would tell the second node) registers one.
  second_nats.reset();
  agent.unregister_tool("dropped");
  test::RawNats reference(first_nats.client_url());
  const Json reply = Json::parse(reference.request(
      "polaris:tool:register", R"({"name": "reference", "description": "from a Go agent"})"));
  ASSERT_EQ(reply["success"], true) << reply.dump();
  const std::set<std::string> now{"kept", "reference"};
  ASSERT_EQ(names_at(first_nats.client_url()), now);

  // The same client port again, as a restarted server would have.
  second_options.bind.port = test::port_of(second_url);
  second_nats = std::make_unique<detail::NatsServer>(second_options, log, hidden);
  ASSERT_EQ(second_nats->client_url(), second_url);
  ASSERT_TRUE(test::wait_until([&] { return merges_of(second) >= 1; }, 20s))
      << "the second registry did not merge its peer's catalogue";
  // Only the second registry answers now.
  first.close();
  EXPECT_EQ(names_at(second_url), now);
  EXPECT_EQ(second.tool_count(), 2U);
}

}  // namespace
}  // namespace polaris
