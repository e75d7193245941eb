// Calls across failures: a caller's node dies mid-call (the call is retried and runs once), the
// agent that took a call dies (outcome unknown, or another replica for an idempotent tool).
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <future>
#include <mutex>

#include "ha_raw.hpp"
#include "polaris/polaris.hpp"
#include "process/child_process.hpp"
#include "support/errors.hpp"
#include "support/process_fixtures.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using test::Collector;
using test::RawNats;
using test::RegistryProcess;

using test::code_of;

// Routes connect asynchronously: a node has joined once a subscription made on it is visible
// from the other node.
void await_route(const RegistryProcess& from, const RegistryProcess& to) {
  RawNats listener(to.client_url());
  detail::Subscription probe(listener.get(), "polaris-test.probe", "", [&](detail::NatsMsgPtr msg) {
    natsConnection_PublishString(listener.get(), natsMsg_GetReply(msg.get()), "here");
  });
  natsConnection_Flush(listener.get());
  RawNats speaker(from.client_url());
  ASSERT_TRUE(test::wait_until([&] {
    try {
      return speaker.request("polaris-test.probe", "", 200) == "here";
    } catch (const Error&) {
      return false;
    }
  })) << "no route from "
      << from.client_url() << " to " << to.client_url();
}

// True once nobody on `url` listens on `subject` any more.
bool nobody_serves(const std::string& url, const std::string& subject) {
  RawNats raw(url);
  try {
    (void)raw.request(subject, "{}", 1000);
    return false;
  } catch (const Error& error) {
    return error.code() == Errc::no_such_tool;
  }
}

/// tests/integration/ha_test_agent in a child process.
class AgentProcess {
 public:
  AgentProcess(const std::string& url, const std::string& tool, std::vector<std::string> flags) {
    std::vector<std::string> argv{HA_TEST_AGENT_PATH, url, tool};
    argv.insert(argv.end(), flags.begin(), flags.end());
    process_ = std::make_unique<detail::ChildProcess>(
        detail::ChildProcessOptions{.argv = argv, .on_line = [this](const std::string& line) {
                                      std::lock_guard lock(mutex_);
                                      if (line.starts_with("ready ")) agent_id_ = line.substr(6);
                                      if (line.starts_with("started ")) ++started_;
                                    }});
    const bool ready = test::wait_until([&] {
      std::lock_guard lock(mutex_);
      return !agent_id_.empty() || !process_->running();
    });
    if (!ready || agent_id().empty()) {
      throw Error(Errc::process, "the test agent did not start: " + process_->describe_exit());
    }
  }
  [[nodiscard]] std::string agent_id() const {
    std::lock_guard lock(mutex_);
    return agent_id_;
  }
  [[nodiscard]] int started() const {
    std::lock_guard lock(mutex_);
    return started_;
  }
  void kill() {
    process_->signal(SIGKILL);
    process_->wait_for_exit(10s);
  }

 private:
  mutable std::mutex mutex_;
  std::string agent_id_;
  int started_ = 0;
  std::unique_ptr<detail::ChildProcess> process_;
};

bool saw_ack_from(const Collector& spy, const std::string& agent_id) {
  for (const auto& message : spy.all()) {
    if (message.is_ack() && message.agent == agent_id) return true;
  }
  return false;
}

class TwoNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = std::make_unique<RegistryProcess>(
        std::vector<std::string>{"--cluster-name", "polaris-ha", "--cluster-port", "0"});
    b_ = std::make_unique<RegistryProcess>(std::vector<std::string>{
        "--cluster-name", "polaris-ha", "--cluster-port", "0", "--route", a_->cluster_url()});
    await_route(*a_, *b_);
    await_route(*b_, *a_);
  }
  /// A caller that starts on node A and fails over to node B.
  Connection caller() {
    ConnectOptions options{.servers = {a_->client_url(), b_->client_url()}, .reconnect_wait = 50ms};
    options.randomize = false;
    auto connection = connect(options);
    EXPECT_EQ(connection.connected_url(), a_->client_url());
    return connection;
  }
  std::unique_ptr<RegistryProcess> a_;
  std::unique_ptr<RegistryProcess> b_;
};

TEST_F(TwoNodes, ACallIsRetriedWhenTheCallersNodeDiesAndRunsOnce) {
  std::atomic<int> runs{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto agent = connect({.servers = {b_->client_url()}});
  agent.register_tool({.name = "held", .handler = [&](const Request& request) -> Result {
                         const int run = ++runs;
                         if (request.boolean("block")) (void)released.wait_for(60s);
                         return {{"run", run}};
                       }});
  auto client = caller();
  // The agent's interest has reached node A.
  ASSERT_TRUE(
      test::wait_until([&] { return !nobody_serves(a_->client_url(), "polaris:user-func:held"); }));
  const int before = runs;
  auto call = client.call_async("held", {{"block", true}}, {.timeout = 30s});
  ASSERT_TRUE(test::wait_until([&] { return runs == before + 1; }));
  a_->kill_hard();
  ASSERT_TRUE(test::wait_until(
      [&] { return client.connected() && client.connected_url() == b_->client_url(); }));
  release.set_value();
  ASSERT_EQ(call.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(call.get()["run"], before + 1);  // the first run's reply
  EXPECT_EQ(runs, before + 1);               // the retry did not run the handler again
}

TEST_F(TwoNodes, ACallSurvivesItsAgentAndItsCallerLosingTheSameNode) {
  std::atomic<int> runs{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto agent = caller();  // the agent too starts on node A and fails over to B
  agent.register_tool({.name = "held", .handler = [&](const Request& request) -> Result {
                         const int run = ++runs;
                         if (request.boolean("block")) (void)released.wait_for(60s);
                         return {{"run", run}};
                       }});
  auto client = caller();
  auto call = client.call_async("held", {{"block", true}}, {.timeout = 30s});
  ASSERT_TRUE(test::wait_until([&] { return runs == 1; }));
  a_->kill_hard();
  // Whichever reconnects first, the retry reaches the agent once it is back, and finds the call.
  ASSERT_TRUE(test::wait_until([&] { return client.connected() && agent.connected(); }));
  release.set_value();
  ASSERT_EQ(call.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(call.get()["run"], 1);
  EXPECT_EQ(runs, 1);
}

TEST_F(TwoNodes, WithRetryOffTheCallFailsAtOnce) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> runs{0};
  auto agent = connect({.servers = {b_->client_url()}});
  agent.register_tool({.name = "held", .handler = [&](const Request& request) -> Result {
                         ++runs;
                         if (request.boolean("block")) (void)released.wait_for(60s);
                         return {{"done", true}};
                       }});
  auto client = caller();
  ASSERT_TRUE(
      test::wait_until([&] { return !nobody_serves(a_->client_url(), "polaris:user-func:held"); }));
  const int before = runs;
  auto call = client.call_async("held", {{"block", true}}, {.timeout = 30s, .retry = false});
  ASSERT_TRUE(test::wait_until([&] { return runs == before + 1; }));
  a_->kill_hard();
  // Today's behaviour: at once, not after the 30 s timeout.
  ASSERT_EQ(call.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(code_of([&] { (void)call.get(); }), Errc::connection_lost);
  release.set_value();
}

TEST_F(TwoNodes, NoRespondersOnTheAckingAgentsSubjectMeansOutcomeUnknown) {
  AgentProcess agent(b_->client_url(), "stuck", {"--block"});
  RawNats spy_connection(b_->client_url());
  Collector spy(spy_connection.get(), "_INBOX.>");
  auto client = caller();
  ASSERT_TRUE(test::wait_until(
      [&] { return !nobody_serves(a_->client_url(), "polaris:user-func:stuck"); }));
  auto call = client.call_async("stuck", {}, {.timeout = 30s});
  ASSERT_TRUE(test::wait_until([&] { return saw_ack_from(spy, agent.agent_id()); }));
  agent.kill();
  ASSERT_TRUE(test::wait_until([&] {
    return nobody_serves(b_->client_url(), "polaris.agent." + agent.agent_id() + ".call.stuck");
  }));
  a_->kill_hard();  // the caller reconnects to B and retries on the dead agent's direct subject
  ASSERT_EQ(call.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(code_of([&] { (void)call.get(); }), Errc::outcome_unknown);
}

class OneNode : public ::testing::Test {
 protected:
  Registry registry_ = Registry::start({.bind = {.port = 0}, .allow_overwrite = true});
};

TEST_F(OneNode, AnAgentGoneMidCallMeansOutcomeUnknown) {
  AgentProcess agent(registry_.client_url(), "stuck", {"--block"});
  RawNats raw(registry_.client_url());
  Collector spy(raw.get(), "_INBOX.>");
  auto client = connect({.servers = {registry_.client_url()}});
  const auto start = std::chrono::steady_clock::now();
  auto call = client.call_async("stuck", {}, {.timeout = 30s});
  ASSERT_TRUE(test::wait_until([&] { return saw_ack_from(spy, agent.agent_id()); }));
  EXPECT_EQ(agent.started(), 1);
  agent.kill();
  // The registry's announcement (played here: this registry version does not track agents).
  test::publish(raw.get(), "polaris.registry.agent.gone", {{"agent", agent.agent_id()}});
  ASSERT_EQ(call.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(code_of([&] { (void)call.get(); }), Errc::outcome_unknown);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST_F(OneNode, AnIdempotentCallMovesToAnotherReplicaWhenItsAgentIsGone) {
  AgentProcess first(registry_.client_url(), "lookup", {"--replicable", "--idempotent", "--block"});
  RawNats raw(registry_.client_url());
  Collector spy(raw.get(), "_INBOX.>");
  auto client = connect({.servers = {registry_.client_url()}});
  auto call = client.call_async("lookup", {}, {.timeout = 30s});
  ASSERT_TRUE(test::wait_until([&] { return saw_ack_from(spy, first.agent_id()); }));
  // A second replica joins, then the first dies.
  auto second = connect({.servers = {registry_.client_url()}});
  std::atomic<int> runs{0};
  second.register_tool({.name = "lookup",
                        .handler = [&](const Request&) -> Result {
                          ++runs;
                          return {{"agent", "second"}};
                        },
                        .replicable = true,
                        .idempotent = true});
  first.kill();
  ASSERT_TRUE(test::wait_until([&] {
    return nobody_serves(registry_.client_url(),
                         "polaris.agent." + first.agent_id() + ".call.lookup");
  }));
  test::publish(raw.get(), "polaris.registry.agent.gone", {{"agent", first.agent_id()}});
  ASSERT_EQ(call.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(call.get()["agent"], "second");
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace polaris
