// Fault injection on real 3-node clusters under a steady call load: registry nodes and agents
// killed (SIGKILL) or hung (SIGSTOP), a node restarted, registrations racing. Each scenario
// checks what the callers saw: every call succeeded exactly once or failed with a clear error
// inside its deadline, no handler ran twice for one call, the catalogue converged on every node.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "chaos/load.hpp"
#include "polaris/polaris.hpp"
#include "process/child_process.hpp"
#include "support/process_fixtures.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using test::RawNats;
using test::RegistryProcess;

std::vector<std::string> node_args(const std::vector<std::string>& routes) {
  std::vector<std::string> args{"--cluster-name", "chaos", "--cluster-port", "0"};
  for (const auto& route : routes) args.insert(args.end(), {"--route", route});
  return args;
}

/// A chaos_agent process serving one tool.
class AgentProcess {
 public:
  struct Options {
    std::vector<std::string> servers;
    std::string tool = "work";
    bool replicable = false;
    bool idempotent = false;
    int work_ms = 2;
  };

  AgentProcess(const detail::TempDir& dir, const std::string& label, Options options)
      : log_(dir.path() + "/" + label + ".log"), ready_(dir.path() + "/" + label + ".ready") {
    std::vector<std::string> argv{CHAOS_AGENT_PATH, "--tool",    options.tool,
                                  "--log",          log_,        "--ready-file",
                                  ready_,           "--work-ms", std::to_string(options.work_ms)};
    for (const auto& server : options.servers) argv.insert(argv.end(), {"--server", server});
    if (options.replicable) argv.push_back("--replicable");
    if (options.idempotent) argv.push_back("--idempotent");
    process_ = std::make_unique<detail::ChildProcess>(detail::ChildProcessOptions{.argv = argv});
  }

  /// Waits until the agent registered (true) or exited (false).
  bool settle() {
    test::wait_until([&] { return std::filesystem::exists(ready_) || !process_->running(); }, 20s);
    if (!std::filesystem::exists(ready_)) return false;
    std::ifstream in(ready_);
    id_ = Json::parse(in).at("agent").get<std::string>();
    return true;
  }
  void ready() { ASSERT_TRUE(settle()) << process_->describe_exit(); }
  const std::string& id() const { return id_; }
  /// What the agent printed lately (its log lines).
  std::string output() const {
    std::string text;
    for (const auto& line : process_->last_lines()) text += line + "\n";
    return text;
  }
  const std::string& log() const { return log_; }
  detail::ChildProcess& process() { return *process_; }
  void signal(int number) { process_->signal(number); }
  void kill_hard() {
    process_->signal(SIGKILL);
    process_->wait_for_exit(10s);
  }

 private:
  std::string log_;
  std::string ready_;
  std::string id_;
  std::unique_ptr<detail::ChildProcess> process_;
};

/// How many times each seq was handled, over every agent's log.
std::map<std::int64_t, int> handled(const std::vector<const AgentProcess*>& agents) {
  std::map<std::int64_t, int> counts;
  for (const auto* agent : agents) {
    std::ifstream in(agent->log());
    for (std::int64_t seq = 0; in >> seq;) ++counts[seq];
  }
  return counts;
}

using test::names_on;

class Chaos : public ::testing::Test {
 protected:
  void SetUp() override {
    nodes_.push_back(std::make_unique<RegistryProcess>(node_args({})));
    for (int i = 0; i < 2; ++i) {
      nodes_.push_back(std::make_unique<RegistryProcess>(node_args({nodes_[0]->cluster_url()})));
    }
  }

  /// Node URLs starting with node `first` (a connection dials them in this order).
  std::vector<std::string> urls_from(std::size_t first) const {
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const auto& node = nodes_[(first + i) % nodes_.size()];
      if (node) urls.push_back(node->client_url());
    }
    return urls;
  }

  Connection caller_on(std::size_t node) const {
    ConnectOptions options{.servers = urls_from(node)};
    options.randomize = false;
    options.reconnect_wait = 50ms;
    return Connection(options);
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
  std::vector<std::unique_ptr<RegistryProcess>> nodes_;
};

TEST_F(Chaos, KillingTheCallersNodeLosesNoCall) {
  AgentProcess agent(dir_, "agent", {.servers = urls_from(1), .work_ms = 5});
  agent.ready();
  auto caller = caller_on(0);
  ASSERT_TRUE(test::wait_until([&] { return names_on(*nodes_[0]).count("work") == 1; }));
  test::Load load(caller, "work", 4, 5s);
  ASSERT_TRUE(load.await_successes(200));
  nodes_[0]->kill_hard();
  ASSERT_TRUE(load.await_successes(load.summary().succeeded + 200));
  load.stop();
  check(load, {&agent}, "caller's node SIGKILLed");
  EXPECT_EQ(load.summary().failed, 0U) << "retries should hide a dead node from the caller";
}

TEST_F(Chaos, KillingTheAgentsNodeUnderLoad) {
  AgentProcess agent(dir_, "agent", {.servers = urls_from(1), .work_ms = 5});
  agent.ready();
  auto caller = caller_on(0);
  ASSERT_TRUE(test::wait_until([&] { return names_on(*nodes_[0]).count("work") == 1; }));
  test::Load load(caller, "work", 4, 3s);
  ASSERT_TRUE(load.await_successes(200));
  nodes_[1]->kill_hard();
  ASSERT_TRUE(load.await_successes(load.summary().succeeded + 200));
  load.stop();
  check(load, {&agent}, "agent's node SIGKILLed");
  EXPECT_TRUE(test::wait_until([&] {
    return names_on(*nodes_[0]).count("work") == 1 && names_on(*nodes_[2]).count("work") == 1;
  }));
}

TEST_F(Chaos, HangingANodeUnderLoad) {
  AgentProcess agent(dir_, "agent", {.servers = urls_from(1), .work_ms = 5});
  agent.ready();
  auto caller = caller_on(0);
  ASSERT_TRUE(test::wait_until([&] { return names_on(*nodes_[0]).count("work") == 1; }));
  test::Load load(caller, "work", 4, 3s);
  ASSERT_TRUE(load.await_successes(200));
  for (int pid : nodes_[1]->child_pids()) ::kill(pid, SIGSTOP);
  ::kill(nodes_[1]->pid(), SIGSTOP);
  // The fault lasts this long: long enough for clients to give up on the node.
  std::this_thread::sleep_for(4s);
  ::kill(nodes_[1]->pid(), SIGCONT);
  for (int pid : nodes_[1]->child_pids()) ::kill(pid, SIGCONT);
  ASSERT_TRUE(load.await_successes(load.summary().succeeded + 200));
  load.stop();
  check(load, {&agent}, "agent's node SIGSTOPped for 4 s");
  for (const auto& node : nodes_) {
    EXPECT_TRUE(test::wait_until([&] { return names_on(*node) == std::set<std::string>{"work"}; }));
  }
}

TEST_F(Chaos, ARestartedNodeHasTheCatalogueBeforeItServes) {
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::set<std::string> tools;
  for (int i = 0; i < 5; ++i) {
    const std::string tool = "tool" + std::to_string(i);
    agents.push_back(std::make_unique<AgentProcess>(
        dir_, tool, AgentProcess::Options{.servers = urls_from(i % 2), .tool = tool}));
    tools.insert(tool);
  }
  for (auto& agent : agents) agent->ready();
  nodes_[2]->kill_hard();
  nodes_[2] = std::make_unique<RegistryProcess>(node_args({nodes_[0]->cluster_url()}));
  EXPECT_EQ(names_on(*nodes_[2]), tools);  // at once: no waiting
}

TEST_F(Chaos, ANodeKilledWhileRegistrationsAreInFlight) {
  std::vector<std::unique_ptr<AgentProcess>> agents;
  for (int i = 0; i < 8; ++i) {
    const std::string tool = "inflight" + std::to_string(i);
    agents.push_back(std::make_unique<AgentProcess>(
        dir_, tool, AgentProcess::Options{.servers = urls_from(2), .tool = tool}));
  }
  nodes_[2]->kill_hard();
  std::set<std::string> registered;
  for (std::size_t i = 0; i < agents.size(); ++i) {
    if (agents[i]->settle()) {
      registered.insert("inflight" + std::to_string(i));
    } else {
      // A failed registration ends the agent with a clear one-line reason.
      EXPECT_NE(agents[i]->process().describe_exit().find("chaos_agent:"), std::string::npos)
          << agents[i]->process().describe_exit();
    }
  }
  EXPECT_FALSE(registered.empty());
  for (std::size_t n = 0; n < 2; ++n) {
    EXPECT_TRUE(test::wait_until([&] { return names_on(*nodes_[n]) == registered; }))
        << "node " << n;
  }
}

TEST_F(Chaos, TwoAgentsRacingForOneNameEndWithOneOwner) {
  for (int round = 0; round < 3; ++round) {
    const std::string tool = "raced" + std::to_string(round);
    AgentProcess left(dir_, tool + "-left", {.servers = urls_from(0), .tool = tool});
    AgentProcess right(dir_, tool + "-right", {.servers = urls_from(1), .tool = tool});
    const bool left_ready = left.settle();
    const bool right_ready = right.settle();
    EXPECT_TRUE(left_ready || right_ready);
    auto caller = caller_on(2);
    std::set<std::string> answered_by;
    for (int i = 0; i < 20; ++i) {
      answered_by.insert(caller.call(tool, {{"seq", i}})["agent"].get<std::string>());
    }
    // One agent serves the name, the same one for every caller and on every node.
    EXPECT_EQ(answered_by.size(), 1U) << tool;
    for (const auto& node : nodes_) EXPECT_EQ(names_on(*node).count(tool), 1U);
    if (left_ready && right_ready) {
      // Both were told OK before they saw each other: the later one must have been told since.
      const AgentProcess& loser = left.id() == *answered_by.begin() ? right : left;
      EXPECT_NE(loser.output().find("revoked"), std::string::npos) << loser.output();
    }
  }
}

class ChaosReplicas : public Chaos, public ::testing::WithParamInterface<bool> {};

TEST_P(ChaosReplicas, AReplicaKilledWhileServing) {
  const bool idempotent = GetParam();
  std::vector<std::unique_ptr<AgentProcess>> replicas;
  for (std::size_t i = 0; i < 3; ++i) {
    replicas.push_back(std::make_unique<AgentProcess>(
        dir_, "replica" + std::to_string(i),
        AgentProcess::Options{
            .servers = urls_from(i), .replicable = true, .idempotent = idempotent, .work_ms = 20}));
    replicas.back()->ready();
  }
  auto caller = caller_on(0);
  for (const auto& node : nodes_) {
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

TEST_F(Chaos, AnAgentKilledOrHungLeavesEveryNodeAndAHungOneComesBack) {
  AgentProcess killed(dir_, "killed", {.servers = urls_from(0), .tool = "killed"});
  AgentProcess hung(dir_, "hung", {.servers = urls_from(1), .tool = "hung"});
  killed.ready();
  hung.ready();
  const std::set<std::string> both{"hung", "killed"};
  for (const auto& node : nodes_)
    ASSERT_TRUE(test::wait_until([&] { return names_on(*node) == both; }));
  killed.kill_hard();
  hung.signal(SIGSTOP);
  for (const auto& node : nodes_) {
    EXPECT_TRUE(test::wait_until([&] { return names_on(*node).empty(); }, 15s))
        << testing::PrintToString(names_on(*node)) << [&] {
             std::string text;
             for (const auto& line : node->process().last_lines()) text += line + "\n";
             return text;
           }();
  }
  auto caller = caller_on(2);
  try {
    caller.call("killed", {{"seq", 1}});
    ADD_FAILURE() << "a call to a dead agent's tool succeeded";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::no_such_tool) << error.what();
  }
  hung.signal(SIGCONT);
  for (const auto& node : nodes_) {
    EXPECT_TRUE(
        test::wait_until([&] { return names_on(*node) == std::set<std::string>{"hung"}; }, 15s));
  }
  EXPECT_EQ(caller.call("hung", {{"seq", 2}})["seq"], 2);
}

}  // namespace
}  // namespace polaris
