// Fault injection on real 3-node clusters under a steady call load: registry nodes and agents
// killed (SIGKILL) or hung (SIGSTOP), a node restarted, registrations racing. Each scenario
// checks what the callers saw: every call succeeded exactly once or failed with a clear error
// inside its deadline, no handler ran twice for one call, the catalogue converged on every node.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "chaos/load.hpp"
#include "polaris/polaris.hpp"
#include "process/child_process.hpp"
#include "support/agent_process.hpp"
#include "support/cluster.hpp"
#include "support/process_fixtures.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using test::AgentProcess;
using test::names_on;
using test::RawNats;

/// How many times each seq was handled, over every agent's log.
std::map<std::int64_t, int> handled(const std::vector<const AgentProcess*>& agents) {
  std::map<std::int64_t, int> counts;
  for (const auto* agent : agents) {
    std::ifstream in(agent->log());
    for (std::int64_t seq = 0; in >> seq;) ++counts[seq];
  }
  return counts;
}

class Chaos : public ::testing::Test {
 protected:
  /// A test_agent that logs the seqs it handles in dir_, under `label`.
  std::unique_ptr<AgentProcess> start_agent(const std::string& label,
                                            AgentProcess::Options options) const {
    options.log = dir_.path() + "/" + label + ".log";
    return std::make_unique<AgentProcess>(std::move(options));
  }

  /// How the scenarios with one agent under load begin: an agent on node 1 serving "work", a
  /// caller on node 0 that sees the tool, 4 threads calling it (each call with `timeout`) until
  /// 200 calls have succeeded. Then the test injects its fault and calls finish_load().
  void start_load(std::chrono::milliseconds timeout) {
    agent_ = start_agent("agent", {.servers = cluster_.urls_from(1), .work_ms = 5});
    agent_->await_ready();
    caller_.emplace(cluster_.connect_from(0));
    ASSERT_TRUE(test::wait_until([&] { return names_on(cluster_.node(0)).count("work") == 1; }));
    load_ = std::make_unique<test::Load>(*caller_, "work", 4, timeout);
    ASSERT_TRUE(load_->await_successes(200));
  }

  /// After the fault: 200 more successes, then the load stops and the invariants are checked.
  void finish_load(const std::string& scenario) {
    ASSERT_TRUE(load_->await_successes(load_->summary().succeeded + 200));
    load_->stop();
    check(*load_, {agent_.get()}, scenario);
  }

  /// The invariants every scenario checks, and its summary line.
  /// `survivors` (when given) are the agents that lived: an idempotent call may have run on a
  /// dead agent and again on one of them, but never twice on the survivors.
  static void check(const test::Load& load, const std::vector<const AgentProcess*>& agents,
                    const std::string& scenario,
                    const std::vector<const AgentProcess*>& survivors = {}) {
    const auto summary = load.summary();
    std::cout << "[chaos] " << scenario << ": " << summary.line() << std::endl;
    EXPECT_GT(summary.succeeded, 0U);
    for (const auto& failure : load.failures()) ADD_FAILURE() << failure;
    const auto counts = handled(agents);
    for (const auto& [seq, count] : handled(survivors.empty() ? agents : survivors)) {
      EXPECT_EQ(count, 1) << "the handler ran " << count << " times for seq " << seq;
    }
    for (const auto seq : load.succeeded_seqs()) {
      EXPECT_EQ(counts.count(seq), 1U) << "seq " << seq << " succeeded but no handler ran it";
    }
  }

  detail::TempDir dir_{"polaris-chaos-"};
  test::TestCluster cluster_{{.name = "chaos"}};
  // start_load(): destroyed in reverse, the load (which calls through caller_) first.
  std::unique_ptr<AgentProcess> agent_;
  std::optional<Connection> caller_;
  std::unique_ptr<test::Load> load_;
};

TEST_F(Chaos, KillingTheCallersNodeLosesNoCall) {
  ASSERT_NO_FATAL_FAILURE(start_load(5s));
  cluster_.node(0).kill_hard();
  ASSERT_NO_FATAL_FAILURE(finish_load("caller's node SIGKILLed"));
  EXPECT_EQ(load_->summary().failed, 0U) << "retries should hide a dead node from the caller";
}

TEST_F(Chaos, KillingTheAgentsNodeUnderLoad) {
  ASSERT_NO_FATAL_FAILURE(start_load(3s));
  cluster_.node(1).kill_hard();
  ASSERT_NO_FATAL_FAILURE(finish_load("agent's node SIGKILLed"));
  EXPECT_TRUE(test::wait_until([&] {
    return names_on(cluster_.node(0)).count("work") == 1 &&
           names_on(cluster_.node(2)).count("work") == 1;
  }));
}

TEST_F(Chaos, HangingANodeUnderLoad) {
  ASSERT_NO_FATAL_FAILURE(start_load(3s));
  auto& hung = cluster_.node(1);
  for (int pid : hung.child_pids()) ::kill(pid, SIGSTOP);
  ::kill(hung.pid(), SIGSTOP);
  // The fault lasts this long: long enough for clients to give up on the node.
  std::this_thread::sleep_for(4s);
  ::kill(hung.pid(), SIGCONT);
  for (int pid : hung.child_pids()) ::kill(pid, SIGCONT);
  ASSERT_NO_FATAL_FAILURE(finish_load("agent's node SIGSTOPped for 4 s"));
  for (const auto& node : cluster_.nodes()) {
    EXPECT_TRUE(test::wait_until([&] { return names_on(*node) == std::set<std::string>{"work"}; }));
  }
}

TEST_F(Chaos, ARestartedNodeHasTheCatalogueBeforeItServes) {
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::set<std::string> tools;
  for (int i = 0; i < 5; ++i) {
    const std::string tool = "tool" + std::to_string(i);
    agents.push_back(start_agent(tool, {.servers = cluster_.urls_from(i % 2), .tool = tool}));
    tools.insert(tool);
  }
  for (auto& agent : agents) agent->await_ready();
  EXPECT_EQ(names_on(cluster_.restart(2)), tools);  // at once: no waiting
}

TEST_F(Chaos, ANodeKilledWhileRegistrationsAreInFlight) {
  std::vector<std::unique_ptr<AgentProcess>> agents;
  for (int i = 0; i < 8; ++i) {
    const std::string tool = "inflight" + std::to_string(i);
    agents.push_back(start_agent(tool, {.servers = cluster_.urls_from(2), .tool = tool}));
  }
  cluster_.node(2).kill_hard();
  std::set<std::string> registered;
  for (std::size_t i = 0; i < agents.size(); ++i) {
    if (agents[i]->settle()) {
      registered.insert("inflight" + std::to_string(i));
    } else {
      // A failed registration ends the agent with a clear one-line reason.
      EXPECT_NE(agents[i]->process().describe_exit().find("test_agent:"), std::string::npos)
          << agents[i]->process().describe_exit();
    }
  }
  EXPECT_FALSE(registered.empty());
  for (std::size_t n = 0; n < 2; ++n) {
    EXPECT_TRUE(test::wait_until([&] { return names_on(cluster_.node(n)) == registered; }))
        << "node " << n;
  }
}

TEST_F(Chaos, TwoAgentsRacingForOneNameEndWithOneOwner) {
  for (int round = 0; round < 3; ++round) {
    const std::string tool = "raced" + std::to_string(round);
    const auto left = start_agent(tool + "-left", {.servers = cluster_.urls_from(0), .tool = tool});
    const auto right =
        start_agent(tool + "-right", {.servers = cluster_.urls_from(1), .tool = tool});
    const bool left_ready = left->settle();
    const bool right_ready = right->settle();
    EXPECT_TRUE(left_ready || right_ready);
    auto caller = cluster_.connect_from(2);
    std::set<std::string> answered_by;
    for (int i = 0; i < 20; ++i) {
      answered_by.insert(caller.call(tool, {{"seq", i}})["agent"].get<std::string>());
    }
    // One agent serves the name, the same one for every caller and on every node.
    EXPECT_EQ(answered_by.size(), 1U) << tool;
    for (const auto& node : cluster_.nodes()) EXPECT_EQ(names_on(*node).count(tool), 1U);
    if (left_ready && right_ready) {
      // Both were told OK before they saw each other: the later one must have been told since.
      const AgentProcess& loser = left->id() == *answered_by.begin() ? *right : *left;
      EXPECT_NE(loser.output().find("revoked"), std::string::npos) << loser.output();
    }
  }
}

class ChaosReplicas : public Chaos, public ::testing::WithParamInterface<bool> {};

TEST_P(ChaosReplicas, AReplicaKilledWhileServing) {
  const bool idempotent = GetParam();
  std::vector<std::unique_ptr<AgentProcess>> replicas;
  for (std::size_t i = 0; i < 3; ++i) {
    replicas.push_back(start_agent("replica" + std::to_string(i), {.servers = cluster_.urls_from(i),
                                                                   .replicable = true,
                                                                   .idempotent = idempotent,
                                                                   .work_ms = 20}));
    replicas.back()->await_ready();
  }
  auto caller = cluster_.connect_from(0);
  for (const auto& node : cluster_.nodes()) {
    ASSERT_TRUE(test::wait_until([&] {
      const Json listed = Json::parse(RawNats(node->client_url()).request("polaris:tool:list", ""));
      return listed.size() == 1 && listed[0]["polaris"]["replicas"] == 3;
    }));
  }
  test::Load load(caller, "work", 6, 5s);
  ASSERT_TRUE(load.await_successes(150));
  replicas[0]->kill_hard();
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(load.await_successes(load.summary().succeeded + 300));
  load.stop();
  check(load, {replicas[0].get(), replicas[1].get(), replicas[2].get()},
        idempotent ? "idempotent replica SIGKILLed" : "replica SIGKILLed",
        idempotent ? std::vector<const AgentProcess*>{replicas[1].get(), replicas[2].get()}
                   : std::vector<const AgentProcess*>{});
  // Calls the dead replica had taken fail as "outcome unknown" (or are retried elsewhere when
  // the tool is idempotent); nothing else fails.
  for (const auto& record : load.records()) {
    if (record.ok) continue;
    EXPECT_FALSE(idempotent) << record.message;
    EXPECT_EQ(record.code, Errc::outcome_unknown) << record.message;
  }
  // No call started well after the kill went to the dead replica.
  for (const auto& record : load.records()) {
    if (record.ok && record.start > killed_at + 1s) {
      EXPECT_NE(record.agent, replicas[0]->id());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(IdempotentOrNot, ChaosReplicas, ::testing::Bool());

/// The index of the node `connection` is connected to (nodes change ports when restarted).
std::optional<std::size_t> node_of(const test::TestCluster& cluster, const Connection& connection) {
  const std::string url = connection.connected_url();
  if (url.empty()) return std::nullopt;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    if (test::port_of(cluster.node(i).client_url()) == test::port_of(url)) return i;
  }
  return std::nullopt;
}

class ChaosCallerNodeKills : public Chaos, public ::testing::WithParamInterface<bool> {};

// Issue 11, items 9 and 10: the caller's node is SIGKILLed (and restarted) again and again at
// random moments under a load on a tool replicated on every node. Every call must succeed (a
// call sent as its node dies is re-sent after the reconnect, not lost until its timeout), a
// non-idempotent call must never run twice, and the doubled runs of an idempotent tool (which
// its declaration allows) are reported.
TEST_P(ChaosCallerNodeKills, EveryCallSurvivesAndNoneRunsTwiceUnlessIdempotent) {
  const bool idempotent = GetParam();
  constexpr int kKills = 8;
  std::vector<std::unique_ptr<AgentProcess>> replicas;
  for (std::size_t i = 0; i < 3; ++i) {
    replicas.push_back(start_agent("replica" + std::to_string(i), {.servers = cluster_.urls_from(i),
                                                                   .replicable = true,
                                                                   .idempotent = idempotent,
                                                                   .work_ms = 2}));
  }
  for (auto& replica : replicas) replica->await_ready();
  for (const auto& node : cluster_.nodes()) {
    ASSERT_TRUE(test::wait_until([&] {
      const Json listed = Json::parse(RawNats(node->client_url()).request("polaris:tool:list", ""));
      return listed.size() == 1 && listed[0]["polaris"]["replicas"] == 3;
    }));
  }
  auto caller = cluster_.connect_from(0);
  test::Load load(caller, "work", 4, 5s);
  ASSERT_TRUE(load.await_successes(100));
  std::mt19937 random(std::random_device{}());
  const auto started = std::chrono::steady_clock::now();
  for (int kill = 0; kill < kKills && std::chrono::steady_clock::now() - started < 90s; ++kill) {
    std::optional<std::size_t> victim;
    ASSERT_TRUE(test::wait_until([&] { return (victim = node_of(cluster_, caller)).has_value(); }))
        << "the caller is not connected to any node";
    // A random moment within a few calls' time, so that kills land in every phase of a call.
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 20000));
    cluster_.restart(*victim);
    ASSERT_TRUE(load.await_successes(load.summary().succeeded + 100)) << "kill " << kill;
  }
  load.stop();
  std::vector<const AgentProcess*> agents;
  for (const auto& replica : replicas) agents.push_back(replica.get());
  const auto summary = load.summary();
  std::size_t doubled = 0;
  for (const auto& [seq, count] : handled(agents)) doubled += count > 1 ? 1 : 0;
  std::cout << "[chaos] caller's node SIGKILLed " << kKills << " times, "
            << (idempotent ? "idempotent" : "non-idempotent") << " replicas: " << summary.line()
            << ", calls run twice " << doubled << std::endl;
  for (const auto& failure : load.failures()) ADD_FAILURE() << failure;
  for (const auto& record : load.records()) {
    EXPECT_TRUE(record.ok)
        << "seq " << record.seq << " failed after "
        << std::chrono::duration_cast<std::chrono::milliseconds>(record.end - record.start).count()
        << " ms: " << record.message;
  }
  const auto counts = handled(agents);
  for (const auto seq : load.succeeded_seqs()) {
    EXPECT_EQ(counts.count(seq), 1U) << "seq " << seq << " succeeded but no handler ran it";
  }
  if (!idempotent) {
    EXPECT_EQ(doubled, 0U) << "a non-idempotent call ran twice";
  }
}

INSTANTIATE_TEST_SUITE_P(IdempotentOrNot, ChaosCallerNodeKills, ::testing::Bool());

TEST_F(Chaos, AnAgentKilledOrHungLeavesEveryNodeAndAHungOneComesBack) {
  const auto killed = start_agent("killed", {.servers = cluster_.urls_from(0), .tool = "killed"});
  const auto hung = start_agent("hung", {.servers = cluster_.urls_from(1), .tool = "hung"});
  killed->await_ready();
  hung->await_ready();
  const std::set<std::string> both{"hung", "killed"};
  for (const auto& node : cluster_.nodes())
    ASSERT_TRUE(test::wait_until([&] { return names_on(*node) == both; }));
  killed->kill_hard();
  hung->signal(SIGSTOP);
  for (const auto& node : cluster_.nodes()) {
    EXPECT_TRUE(test::wait_until([&] { return names_on(*node).empty(); }, 15s))
        << testing::PrintToString(names_on(*node)) << [&] {
             std::string text;
             for (const auto& line : node->process().last_lines()) text += line + "\n";
             return text;
           }();
  }
  auto caller = cluster_.connect_from(2);
  try {
    caller.call("killed", {{"seq", 1}});
    ADD_FAILURE() << "a call to a dead agent's tool succeeded";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::no_such_tool) << error.what();
  }
  hung->signal(SIGCONT);
  for (const auto& node : cluster_.nodes()) {
    EXPECT_TRUE(
        test::wait_until([&] { return names_on(*node) == std::set<std::string>{"hung"}; }, 15s));
  }
  EXPECT_EQ(caller.call("hung", {{"seq", 2}})["seq"], 2);
}

}  // namespace
}  // namespace polaris
