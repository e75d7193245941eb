// Three registry processes in a cluster: propagation, and failover when a node is SIGKILLed.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "polaris/polaris.hpp"
#include "support/calculator.hpp"
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

}  // namespace
}  // namespace polaris
