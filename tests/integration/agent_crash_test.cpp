// Crashed agents leave at once: the node an agent was connected to reports the closed connection
// (a $SYS disconnect event), and every node withdraws the agent's tools and announces it gone,
// long before heartbeats would (the nodes here wait a minute of heartbeat silence, so only the
// disconnect can explain a quick withdrawal). An agent whose node dies is not a crash.
#include <gtest/gtest.h>

#include <csignal>

#include "ha_raw.hpp"
#include "polaris/polaris.hpp"
#include "support/agent_process.hpp"
#include "support/cluster.hpp"
#include "support/errors.hpp"
#include "support/process_fixtures.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using test::AgentProcess;
using test::Collector;
using test::names_on;
using test::RawNats;

// Bounds for awaiting conditions: generous for a loaded machine, far below the heartbeat path.
constexpr auto kGenerous = 20s;

bool saw_ack_from(const Collector& spy, const std::string& agent_id) {
  for (const auto& message : spy.all()) {
    if (message.is_ack() && message.agent == agent_id) return true;
  }
  return false;
}

bool announced_gone(const Collector& gone, const std::string& agent_id) {
  for (const auto& message : gone.all()) {
    const Json body = message.json();
    if (body.is_object() && body.value("agent", "") == agent_id) return true;
  }
  return false;
}

// How many heartbeats of `agent_id` the spy saw.
std::size_t heartbeats_of(const Collector& beats, const std::string& agent_id) {
  std::size_t count = 0;
  for (const auto& message : beats.all()) {
    const Json body = message.json();
    if (body.is_object() && body.value("agent", "") == agent_id) ++count;
  }
  return count;
}

class AgentCrash : public ::testing::Test {
 protected:
  test::TestCluster cluster_{{.name = "crash", .node_args = [](std::size_t) {
                                return std::vector<std::string>{"--agent-timeout", "60s"};
                              }}};
};

TEST_F(AgentCrash, AKilledAgentsToolsLeaveEveryNodeAndItsCallEnds) {
  AgentProcess agent({.servers = cluster_.urls_from(1), .tool = "stuck", .block = true});
  agent.await_ready();
  for (const auto& node : cluster_.nodes()) {
    ASSERT_TRUE(test::wait_until([&] { return names_on(*node).count("stuck") == 1; }));
  }
  RawNats raw(cluster_.node(0).client_url());
  Collector spy(raw.get(), "_INBOX.>");
  Collector gone(raw.get(), "polaris.registry.agent.gone");
  auto client = cluster_.connect_from(0);
  auto call = client.call_async("stuck", {}, {.timeout = 120s});
  ASSERT_TRUE(test::wait_until([&] { return saw_ack_from(spy, agent.id()); }));
  agent.kill_hard();
  for (const auto& node : cluster_.nodes()) {
    EXPECT_TRUE(test::wait_until([&] { return names_on(*node).count("stuck") == 0; }, kGenerous))
        << "still listed on " << node->client_url();
  }
  EXPECT_TRUE(test::wait_until([&] { return announced_gone(gone, agent.id()); }, kGenerous));
  ASSERT_EQ(call.wait_for(kGenerous), std::future_status::ready);
  EXPECT_EQ(test::code_of([&] { (void)call.get(); }), Errc::outcome_unknown);
}

TEST_F(AgentCrash, AnAgentWhoseNodeIsKilledKeepsItsTools) {
  // The agent dials node 1 first, then node 2.
  AgentProcess agent({.servers = cluster_.urls_from(1), .tool = "kept"});
  agent.await_ready();
  for (const auto& node : cluster_.nodes()) {
    ASSERT_TRUE(test::wait_until([&] { return names_on(*node).count("kept") == 1; }));
  }
  RawNats raw(cluster_.node(0).client_url());
  Collector gone(raw.get(), "polaris.registry.agent.gone");
  Collector beats(raw.get(), "polaris.agent.heartbeat");
  cluster_.node(1).kill_hard();
  auto caller = cluster_.connect_from(0);
  // Back on node 2: calls reach it, and two heartbeats later (a second, far more than the
  // disconnect grace) no node has announced it gone.
  ASSERT_TRUE(test::wait_until(
      [&] {
        try {
          return caller.call("kept", {{"seq", 1}}, {.timeout = 2s})["seq"] == 1;
        } catch (const Error&) {
          return false;
        }
      },
      kGenerous));
  const std::size_t seen = heartbeats_of(beats, agent.id());
  ASSERT_TRUE(test::wait_until([&] { return heartbeats_of(beats, agent.id()) >= seen + 2; }));
  EXPECT_FALSE(announced_gone(gone, agent.id()));
  for (const std::size_t n : {0U, 2U}) {
    EXPECT_EQ(names_on(cluster_.node(n)).count("kept"), 1U) << "node " << n;
  }
}

TEST(AgentHang, AHungAgentStillLeavesThroughHeartbeats) {
  // Only heartbeats tell a hung agent: here, nodes that wait 2.5 s of silence.
  test::TestCluster cluster({.nodes = 2, .name = "hung"});
  AgentProcess agent({.servers = cluster.urls_from(0), .tool = "frozen"});
  agent.await_ready();
  for (const auto& node : cluster.nodes()) {
    ASSERT_TRUE(test::wait_until([&] { return names_on(*node).count("frozen") == 1; }));
  }
  agent.signal(SIGSTOP);
  for (const auto& node : cluster.nodes()) {
    EXPECT_TRUE(test::wait_until([&] { return names_on(*node).count("frozen") == 0; }, kGenerous));
  }
  agent.signal(SIGCONT);
  for (const auto& node : cluster.nodes()) {
    EXPECT_TRUE(test::wait_until([&] { return names_on(*node).count("frozen") == 1; }, kGenerous));
  }
}

}  // namespace
}  // namespace polaris
