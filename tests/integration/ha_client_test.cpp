// The client library's side of high availability (docs/PROTOCOL.md, "High availability"):
// replicas, call ids and the reply cache, acknowledgements, retries across a dead node, outcome
// unknown, heartbeats, resync, revocation, keepalive splitting, batch registration, paged lists
// and declared timeouts. Against real nats-server and registry processes; where the registry of
// this version lacks a subject, the test plays the registry's side with raw NATS.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <deque>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "client/reply_publisher.hpp"
#include "ha_raw.hpp"
#include "polaris/polaris.hpp"
#include "process/child_process.hpp"
#include "registry/nats_server.hpp"
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

/// Lets a test hold handlers until it releases them.
class Latch {
 public:
  void release() { released_.set_value(); }
  void wait() const { (void)future_.wait_for(60s); }

 private:
  std::promise<void> released_;
  std::shared_future<void> future_ = released_.get_future().share();
};

/// A tool counting its runs; it blocks on `latch` when called with {"block": true}.
Tool counting_tool(std::string name, std::atomic<int>& runs, const Latch* latch = nullptr) {
  return Tool{.name = std::move(name), .handler = [&runs, latch](const Request& request) -> Result {
                const int run = ++runs;
                if (latch != nullptr && request.boolean("block")) latch->wait();
                return {{"run", run}};
              }};
}

std::string unique_inbox(natsConnection* connection) {
  natsInbox* inbox = nullptr;
  detail::check_nats(natsInbox_Create(&inbox), "inbox");
  std::string text(inbox);
  natsInbox_Destroy(inbox);
  (void)connection;
  return text;
}

class HaClient : public ::testing::Test {
 protected:
  Connection connect_to(ConnectOptions options = {}) {
    options.servers = {registry_.client_url()};
    return Connection(std::move(options));
  }

  Registry registry_ = Registry::start({.bind = {.port = 0}, .allow_overwrite = true});
};

TEST_F(HaClient, DeclarationsCarryThePolarisFieldAndListsModelIt) {
  auto agent = connect_to();
  ASSERT_EQ(agent.agent_id().size(), 22U);
  for (char c : agent.agent_id()) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
  EXPECT_NE(agent.agent_id(), connect_to().agent_id());
  std::atomic<int> runs{0};
  Tool tool = counting_tool("declared", runs);
  tool.replicable = true;
  tool.idempotent = true;
  tool.timeout = 1234ms;
  agent.register_tool(std::move(tool));
  // Listed with the number of replicas instead of the agent id.
  RawNats raw(registry_.client_url());
  const Json listed = Json::parse(raw.request("polaris:tool:list", ""));
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(
      listed[0]["polaris"],
      (Json{{"replicas", 1}, {"replicable", true}, {"idempotent", true}, {"timeout_ms", 1234}}));
  const auto tools = connect_to().list_tools();
  ASSERT_EQ(tools.size(), 1U);
  ASSERT_TRUE(tools[0].polaris.has_value());
  EXPECT_TRUE(tools[0].polaris->replicable);
  EXPECT_TRUE(tools[0].polaris->idempotent);
  EXPECT_EQ(tools[0].polaris->timeout, 1234ms);
  EXPECT_FALSE(tools[0].extra.contains("polaris"));  // never forwarded as an unknown field
}

TEST_F(HaClient, ReplicasEachTakeCallsAndEachCallRunsOnce) {
  std::atomic<int> runs_a{0};
  std::atomic<int> runs_b{0};
  auto agent_a = connect_to();
  auto agent_b = connect_to();
  Tool a = counting_tool("replicated", runs_a);
  a.replicable = true;
  Tool b = counting_tool("replicated", runs_b);
  b.replicable = true;
  agent_a.register_tool(std::move(a));
  agent_b.register_tool(std::move(b));  // this registry version allows it with allow_overwrite
  auto client = connect_to();
  constexpr int kCalls = 60;
  for (int i = 0; i < kCalls; ++i) (void)client.call("replicated");
  EXPECT_EQ(runs_a + runs_b, kCalls);  // a plain subscription would run each call twice
  EXPECT_GT(runs_a, 0);
  EXPECT_GT(runs_b, 0);
}

// Calls the server routed to a replica just before it unregistered still run there (its
// subscription is drained, not cut): of a stream of calls, none is lost.
TEST_F(HaClient, UnregisteringAReplicaLosesNoCallInFlight) {
  std::atomic<int> runs_a{0};
  std::atomic<int> runs_b{0};
  auto agent_a = connect_to();
  auto agent_b = connect_to();
  for (auto [agent, runs] : {std::pair{&agent_a, &runs_a}, std::pair{&agent_b, &runs_b}}) {
    Tool tool = counting_tool("replicated", *runs);
    tool.replicable = true;
    agent->register_tool(std::move(tool));
  }
  ConnectOptions patient;
  patient.request_timeout = 5s;
  auto client = connect_to(patient);
  std::thread leaving([&] {
    (void)test::wait_until([&] { return runs_a >= 20; });
    agent_a.unregister_tool("replicated");
  });
  // Eight calls in flight at a time: within what the agents take without answering "busy".
  constexpr int kCalls = 1000;
  constexpr std::size_t kInFlight = 8;
  std::deque<std::future<Json>> calls;
  int lost = 0;
  const auto settle_oldest = [&] {
    try {
      (void)calls.front().get();
    } catch (const Error& error) {
      if (++lost == 1) ADD_FAILURE() << "a call was lost: " << error.what();
    }
    calls.pop_front();
  };
  for (int i = 0; i < kCalls; ++i) {
    if (calls.size() == kInFlight) settle_oldest();
    calls.push_back(client.call_async("replicated"));
  }
  while (!calls.empty()) settle_oldest();
  leaving.join();
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(runs_a + runs_b, kCalls);
  EXPECT_GE(runs_a, 20);
}

TEST_F(HaClient, TheReplyCacheAnswersARepeatedCallIdWithoutRunningTheHandler) {
  auto agent = connect_to();
  std::atomic<int> runs{0};
  agent.register_tool(counting_tool("cached", runs));
  RawNats raw(registry_.client_url());
  const std::string inbox = unique_inbox(raw.get());
  Collector first(raw.get(), inbox + ".1");
  Collector second(raw.get(), inbox + ".2");
  Collector third(raw.get(), inbox + ".3");
  test::publish_call(raw.get(), "polaris:user-func:cached", inbox + ".1", "{}",
                     {{"Polaris-Call-Id", "raw-1"}});
  const auto reply1 = first.await_reply();
  ASSERT_TRUE(reply1);
  test::publish_call(raw.get(), "polaris:user-func:cached", inbox + ".2", "{}",
                     {{"Polaris-Call-Id", "raw-1"}, {"Polaris-Attempt", "2"}});
  const auto reply2 = second.await_reply();
  ASSERT_TRUE(reply2);
  EXPECT_EQ(reply1->json(), (Json{{"run", 1}}));
  EXPECT_EQ(reply2->body, reply1->body);
  EXPECT_EQ(reply2->agent, agent.agent_id());
  EXPECT_EQ(runs, 1);
  // Another id runs again.
  test::publish_call(raw.get(), "polaris:user-func:cached", inbox + ".3", "{}",
                     {{"Polaris-Call-Id", "raw-2"}});
  const auto reply3 = third.await_reply();
  ASSERT_TRUE(reply3);
  EXPECT_EQ(reply3->json(), (Json{{"run", 2}}));
  EXPECT_EQ(runs, 2);
}

TEST_F(HaClient, ARepeatOfARunningCallGetsThatCallsReply) {
  auto agent = connect_to();
  std::atomic<int> runs{0};
  Latch latch;
  agent.register_tool(counting_tool("slow", runs, &latch));
  RawNats raw(registry_.client_url());
  const std::string inbox = unique_inbox(raw.get());
  Collector first(raw.get(), inbox + ".1");
  Collector repeat(raw.get(), inbox + ".2");
  const std::string body = Json{{"block", true}}.dump();
  test::publish_call(raw.get(), "polaris:user-func:slow", inbox + ".1", body,
                     {{"Polaris-Call-Id", "raw-slow"}});
  ASSERT_TRUE(test::wait_until([&] { return runs == 1; }));
  // The repeat comes through the agent's direct subject, as a retry would.
  test::publish_call(raw.get(), "polaris.agent." + agent.agent_id() + ".call.slow", inbox + ".2",
                     body, {{"Polaris-Call-Id", "raw-slow"}, {"Polaris-Attempt", "2"}});
  ASSERT_TRUE(repeat.await(1));  // acknowledged at once: the call has been running
  EXPECT_TRUE(repeat.all()[0].is_ack());
  EXPECT_EQ(repeat.all()[0].agent, agent.agent_id());
  latch.release();
  const auto reply1 = first.await_reply();
  const auto reply2 = repeat.await_reply();
  ASSERT_TRUE(reply1 && reply2);
  EXPECT_EQ(reply1->json(), (Json{{"run", 1}}));
  EXPECT_EQ(reply2->body, reply1->body);
  EXPECT_EQ(runs, 1);
}

TEST_F(HaClient, AcknowledgementsFollowTheContract) {
  auto agent = connect_to();
  std::atomic<int> runs{0};
  Latch latch;
  agent.register_tool(counting_tool("plain", runs, &latch));
  Tool replicable = counting_tool("replicable", runs);
  replicable.replicable = true;
  agent.register_tool(std::move(replicable));
  RawNats raw(registry_.client_url());
  const std::string inbox = unique_inbox(raw.get());

  // Quick calls of a tool that is not replicable: the reply alone, no ack. (One of a few is
  // enough: on a loaded machine a trivial call may take 50 ms and be acknowledged.)
  int unacknowledged = 0;
  for (int i = 0; i < 5; ++i) {
    Collector quick(raw.get(), inbox + ".q" + std::to_string(i));
    test::publish_call(raw.get(), "polaris:user-func:plain", inbox + ".q" + std::to_string(i), "{}",
                       {{"Polaris-Call-Id", "ack-q" + std::to_string(i)}});
    ASSERT_TRUE(quick.await_reply());
    unacknowledged += quick.all()[0].is_ack() ? 0 : 1;
    EXPECT_EQ(quick.all().back().agent, agent.agent_id());
  }
  EXPECT_GT(unacknowledged, 0);

  // Replicable and not idempotent: acknowledged at once, before the reply.
  Collector at_once(raw.get(), inbox + ".2");
  test::publish_call(raw.get(), "polaris:user-func:replicable", inbox + ".2", "{}",
                     {{"Polaris-Call-Id", "ack-2"}});
  ASSERT_TRUE(at_once.await(2));
  EXPECT_TRUE(at_once.all()[0].is_ack());
  EXPECT_EQ(at_once.all()[0].agent, agent.agent_id());
  EXPECT_EQ(at_once.all()[0].idempotent, "0");
  EXPECT_TRUE(at_once.all()[0].body.empty());
  EXPECT_FALSE(at_once.all()[1].is_ack());

  // A slow call: acknowledged while it runs.
  Collector slow(raw.get(), inbox + ".3");
  test::publish_call(raw.get(), "polaris:user-func:plain", inbox + ".3",
                     Json{{"block", true}}.dump(), {{"Polaris-Call-Id", "ack-3"}});
  ASSERT_TRUE(slow.await(1));
  EXPECT_TRUE(slow.all()[0].is_ack());
  latch.release();
  ASSERT_TRUE(slow.await(2));
  EXPECT_FALSE(slow.all()[1].is_ack());
}

TEST_F(HaClient, CallsCarryAnIdAndAnAttempt) {
  auto client = connect_to();
  RawNats raw(registry_.client_url());
  Collector calls(raw.get(), "polaris:user-func:spy", [&](natsMsg* msg) {
    const std::string reply = R"({"ok":true})";
    natsConnection_Publish(raw.get(), natsMsg_GetReply(msg), reply.data(),
                           static_cast<int>(reply.size()));
  });
  (void)client.call("spy");
  (void)client.call("spy");
  const auto seen = calls.all();
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0].call_id, client.agent_id() + "-1");
  EXPECT_EQ(seen[1].call_id, client.agent_id() + "-2");
  EXPECT_TRUE(seen[0].attempt.empty());  // only retries carry it
}

TEST_F(HaClient, HeartbeatsWhileServingTools) {
  RawNats raw(registry_.client_url());
  Collector heartbeats(raw.get(), "polaris.agent.heartbeat");
  auto idle = connect_to({.heartbeat_interval = 20ms});
  auto agent = connect_to({.heartbeat_interval = 20ms});
  std::atomic<int> runs{0};
  agent.register_tool(counting_tool("beating", runs));
  const auto from_agent = [&] {
    std::size_t count = 0;
    for (const auto& beat : heartbeats.all()) {
      count += beat.json().value("agent", "") == agent.agent_id() ? 1 : 0;
    }
    return count;
  };
  ASSERT_TRUE(test::wait_until([&] { return from_agent() >= 5; }));
  for (const auto& beat : heartbeats.all()) {
    // The idle connection serves no tool: it had as long to send and stayed silent.
    EXPECT_EQ(beat.json(), (Json{{"agent", agent.agent_id()}, {"tools", 1}}));
  }
}

TEST_F(HaClient, ResyncMakesTheAgentSendItsKeepalive) {
  auto agent = connect_to({.keepalive_interval = 1h});
  std::atomic<int> runs{0};
  agent.register_tool(counting_tool("resynced", runs));
  RawNats raw(registry_.client_url());
  Collector keepalives(raw.get(), "polaris:tool:keepalive");
  test::publish(raw.get(), "polaris.agent." + agent.agent_id() + ".resync", Json::object());
  ASSERT_TRUE(keepalives.await(1));
  const Json sent = keepalives.all()[0].json();
  ASSERT_TRUE(sent.is_array());
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0]["name"], "resynced");
  EXPECT_EQ(sent[0]["polaris"]["agent"], agent.agent_id());
}

TEST_F(HaClient, RevokedToolIsNoLongerServed) {
  std::mutex mutex;
  std::vector<std::string> revoked;
  auto agent =
      connect_to({.on_tool_revoked = [&](const std::string& name, const std::string& message) {
        std::lock_guard lock(mutex);
        revoked.push_back(name + ": " + message);
      }});
  std::atomic<int> runs{0};
  agent.register_tool(counting_tool("victim", runs));
  agent.register_tool(counting_tool("survivor", runs));
  auto client = connect_to();
  ASSERT_EQ(client.call("victim")["run"], 1);
  RawNats raw(registry_.client_url());
  test::publish(raw.get(), "polaris.agent." + agent.agent_id() + ".revoked",
                {{"name", "victim"}, {"msg", "lost the race"}});
  ASSERT_TRUE(test::wait_until([&] {
    std::lock_guard lock(mutex);
    return !revoked.empty();
  }));
  EXPECT_EQ(revoked, std::vector<std::string>{"victim: lost the race"});
  EXPECT_EQ(agent.local_tools(), std::vector<std::string>{"survivor"});
  EXPECT_TRUE(test::wait_until([&] {
    try {
      (void)client.call("victim", {}, {.retry = false});
      return false;
    } catch (const Error& error) {
      return error.code() == Errc::no_such_tool;
    }
  }));
  EXPECT_EQ(client.call("survivor")["run"], 2);
}

TEST_F(HaClient, DeclaredTimeoutIsUsedWhenTheCallSetsNone) {
  auto agent = connect_to();
  std::atomic<int> runs{0};
  Latch latch;
  Tool slow = counting_tool("declared_timeout", runs, &latch);
  slow.timeout = 1s;
  agent.register_tool(std::move(slow));
  auto client = connect_to({.request_timeout = 30s});
  ASSERT_EQ(client.list_tools().size(), 1U);  // learns the declared timeout
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] {
              (void)client.call("declared_timeout", {{"block", true}});
            }),
            Errc::timeout);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 990ms);
  EXPECT_LT(took, 15s);  // far below the client's 30 s default
  // An explicit timeout still wins.
  const auto start2 = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] {
              (void)client.call("declared_timeout", {{"block", true}}, {.timeout = 50ms});
            }),
            Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start2, 900ms);
  latch.release();
}

// A caller that never listed asks the registry for the tool's declaration before its first
// call, and uses the declared timeout whether it is longer or shorter than its default.
TEST_F(HaClient, DeclaredTimeoutIsLearntWithoutListing) {
  auto agent = connect_to();
  const auto sleeper = [](std::string name, std::chrono::milliseconds timeout) {
    return Tool{.name = std::move(name),
                .handler = [](const Request& request) -> Result {
                  std::this_thread::sleep_for(std::chrono::milliseconds(request.integer("ms")));
                  return {{"slept", request.integer("ms")}};
                },
                .timeout = timeout};
  };
  agent.register_tool(sleeper("learn_long", 3s));
  agent.register_tool(sleeper("learn_short", 300ms));
  // Neighbours in the catalogue's order, with a timeout that would fail the calls below.
  agent.register_tool(sleeper("learn_lonfz", 50ms));
  agent.register_tool(sleeper("learn_long_x", 50ms));

  auto impatient = connect_to({.request_timeout = 300ms});
  EXPECT_EQ(impatient.call("learn_long", {{"ms", 800}})["slept"], 800);
  EXPECT_EQ(impatient.call("learn_long", {{"ms", 800}})["slept"], 800);  // remembered
  // An explicit timeout still wins.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] {
              (void)impatient.call("learn_long", {{"ms", 800}}, {.timeout = 100ms});
            }),
            Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 700ms);

  auto patient = connect_to();  // the 5 s default
  const auto start2 = std::chrono::steady_clock::now();
  try {
    (void)patient.call("learn_short", {{"ms", 1500}});
    ADD_FAILURE() << "expected a timeout";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::timeout);
    // The tool, not the subject.
    EXPECT_EQ(std::string(error.what()), "call learn_short: no reply within 300 ms");
  }
  const auto took = std::chrono::steady_clock::now() - start2;
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2500ms);  // far below the 5 s default
  // A name nobody serves is still no_such_tool.
  EXPECT_EQ(code_of([&] { (void)patient.call("learn_missing"); }), Errc::no_such_tool);
}

TEST(HaKeepalive, KeepalivesAreSplitToFitTheMaxPayload) {
  constexpr std::int64_t kMaxPayload = 8 * 1024;
  auto registry = Registry::start({.bind = {.port = 0}, .max_payload = kMaxPayload});
  auto agent =
      connect({.servers = {registry.client_url()}, .keepalive_interval = 1h, .logger = {}});
  std::atomic<int> runs{0};
  std::vector<Tool> tools;
  constexpr int kTools = 300;
  for (int i = 0; i < kTools; ++i) {
    Tool tool = counting_tool("tool_" + std::to_string(i), runs);
    tool.description = "tool number " + std::to_string(i) + " of a large agent";
    tools.push_back(std::move(tool));
  }
  agent.register_tools(std::move(tools));  // this registry: one reference register per tool
  EXPECT_EQ(registry.tool_count(), static_cast<std::size_t>(kTools));
  EXPECT_EQ(agent.local_tools().size(), static_cast<std::size_t>(kTools));

  RawNats raw(registry.client_url());
  Collector keepalives(raw.get(), "polaris:tool:keepalive");
  test::publish(raw.get(), "polaris.agent." + agent.agent_id() + ".resync", Json::object());
  std::set<std::string> names;
  ASSERT_TRUE(test::wait_until([&] {
    names.clear();
    for (const auto& part : keepalives.all()) {
      for (const auto& declaration : part.json()) names.insert(declaration["name"]);
    }
    return names.size() == static_cast<std::size_t>(kTools);
  }));
  const auto parts = keepalives.all();
  EXPECT_GE(parts.size(), 3U);
  std::size_t declarations = 0;
  for (const auto& part : parts) {
    EXPECT_LE(static_cast<std::int64_t>(part.body.size()), kMaxPayload);
    declarations += part.json().size();
  }
  EXPECT_EQ(declarations, static_cast<std::size_t>(kTools));  // each tool in one part
  EXPECT_EQ(agent.call("tool_299")["run"], 1);
}

TEST(HaKeepalive, TenThousandToolsRegisterAndKeepAlive) {
  auto registry = Registry::start({.bind = {.port = 0}});
  auto agent = connect({.servers = {registry.client_url()}, .keepalive_interval = 1h});
  std::atomic<int> runs{0};
  constexpr int kTools = 10000;
  std::vector<Tool> tools;
  for (int i = 0; i < kTools; ++i) {
    Tool tool = counting_tool("t" + std::to_string(i), runs);
    tool.description = std::string(100, 'd');  // 10,000 declarations > the 1 MiB max payload
    tools.push_back(std::move(tool));
  }
  agent.register_tools(std::move(tools));
  EXPECT_EQ(registry.tool_count(), static_cast<std::size_t>(kTools));
  RawNats raw(registry.client_url());
  Collector keepalives(raw.get(), "polaris:tool:keepalive");
  test::publish(raw.get(), "polaris.agent." + agent.agent_id() + ".resync", Json::object());
  std::size_t declarations = 0;
  ASSERT_TRUE(test::wait_until([&] {
    declarations = 0;
    for (const auto& part : keepalives.all()) declarations += part.json().size();
    return declarations == static_cast<std::size_t>(kTools);
  }));
  EXPECT_GE(keepalives.all().size(), 2U);
  EXPECT_EQ(agent.call("t9999")["run"], 1);
}

class HaPlayedRegistry : public ::testing::Test {
 protected:
  HaPlayedRegistry() {
    RegistryOptions options;
    options.bind.port = 0;
    server_ = std::make_unique<detail::NatsServer>(options, spdlog::default_logger());
  }
  std::unique_ptr<detail::NatsServer> server_;
};

TEST_F(HaPlayedRegistry, BatchRegistrationUsesThePolarisSubject) {
  RawNats raw(server_->client_url());
  std::mutex mutex;
  std::vector<Json> requests;
  test::Responder registry(raw.get(), "polaris.registry.register", [&](const Json& request) {
    std::lock_guard lock(mutex);
    requests.push_back(request);
    Json results = Json::array();
    for (const auto& tool : request["tools"]) {
      const bool taken = tool["name"] == "taken";
      results.push_back({{"name", tool["name"]},
                         {"success", !taken},
                         {"msg", taken ? "register: taken already registered" : "OK"}});
    }
    return Json{{"success", false}, {"msg", "some refused"}, {"results", results}};
  });
  auto agent = connect({.servers = {server_->client_url()}});
  std::atomic<int> runs{0};
  std::vector<Tool> tools;
  tools.push_back(counting_tool("free", runs));
  tools.push_back(counting_tool("taken", runs));
  try {
    agent.register_tools(std::move(tools));
    ADD_FAILURE() << "the refusal was not reported";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::registration_failed);
    EXPECT_STREQ(error.what(), "register: taken already registered");
  }
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(requests.size(), 1U);  // one request for both
    ASSERT_EQ(requests[0]["tools"].size(), 2U);
    EXPECT_EQ(requests[0]["tools"][0]["polaris"]["agent"], agent.agent_id());
  }
  EXPECT_EQ(agent.local_tools(), std::vector<std::string>{"free"});
  auto client = connect({.servers = {server_->client_url()}});
  EXPECT_EQ(client.call("free")["run"], 1);
  EXPECT_EQ(code_of([&] { (void)client.call("taken"); }), Errc::no_such_tool);
}

TEST(HaPlayedRegistrySmall, ABatchLargerThanTheMaxPayloadGoesInSeveralRequests) {
  RegistryOptions options;
  options.bind.port = 0;
  options.max_payload = 4096;
  detail::NatsServer server(options, spdlog::default_logger());
  RawNats raw(server.client_url());
  std::mutex mutex;
  std::vector<std::size_t> sizes;
  std::size_t registered = 0;
  test::Responder registry(raw.get(), "polaris.registry.register", [&](const Json& request) {
    std::lock_guard lock(mutex);
    sizes.push_back(request.dump().size());
    registered += request["tools"].size();
    return Json{{"success", true}, {"msg", "OK"}};  // no per-entry results: all accepted
  });
  auto agent = connect({.servers = {server.client_url()}});
  std::atomic<int> runs{0};
  std::vector<Tool> tools;
  for (int i = 0; i < 100; ++i) {
    Tool tool = counting_tool("batch_" + std::to_string(i), runs);
    tool.description = std::string(60, 'd');
    tools.push_back(std::move(tool));
  }
  agent.register_tools(std::move(tools));
  EXPECT_EQ(agent.local_tools().size(), 100U);
  std::lock_guard lock(mutex);
  EXPECT_EQ(registered, 100U);
  EXPECT_GE(sizes.size(), 3U);
  for (const auto size : sizes) EXPECT_LE(size, 4096U);
}

TEST_F(HaPlayedRegistry, ListPagesThroughThePolarisSubject) {
  RawNats raw(server_->client_url());
  std::mutex mutex;
  std::vector<Json> requests;
  const auto declaration = [](const std::string& name, int timeout_ms) {
    return Json{{"name", name},
                {"polaris",
                 {{"replicable", true},
                  {"idempotent", false},
                  {"timeout_ms", timeout_ms},
                  {"replicas", 2}}}};
  };
  test::Responder registry(raw.get(), "polaris.registry.list", [&](const Json& request) {
    std::lock_guard lock(mutex);
    requests.push_back(request);
    if (!request.contains("after")) {
      return Json{{"tools", {declaration("alpha", 0), declaration("beta", 0)}}, {"next", "beta"}};
    }
    return Json{{"tools", {declaration("gamma", 250)}}};
  });
  auto client = connect({.servers = {server_->client_url()}, .request_timeout = 30s});
  const auto tools = client.list_tools();
  ASSERT_EQ(tools.size(), 3U);
  EXPECT_EQ(tools[2].name, "gamma");
  ASSERT_TRUE(tools[2].polaris);
  EXPECT_EQ(tools[2].polaris->replicas, 2U);
  EXPECT_EQ(tools[2].polaris->timeout, 250ms);
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(requests.size(), 2U);
    EXPECT_EQ(requests[1]["after"], "beta");
    EXPECT_TRUE(requests[0]["limit"].is_number_integer());
  }
  // gamma's declared timeout now bounds calls to it (nobody answers them here).
  Collector calls(raw.get(), "polaris:user-func:gamma");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] { (void)client.call("gamma"); }), Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST_F(HaPlayedRegistry, RepliesOfTheLastSecondAreSentAgainAfterAReconnect) {
  RawNats agent(server_->client_url());
  RawNats caller(server_->client_url());
  Collector inbox(caller.get(), "_INBOX.replayed.*");
  detail::ReplyPublisher publisher(agent.get(), "agent-id", spdlog::default_logger());
  publisher.reply("_INBOX.replayed.1", R"({"n":1})");
  publisher.ack("_INBOX.replayed.2", true);  // acks are not replayed
  publisher.reply("_INBOX.replayed.3", R"({"_error":"busy"})", "busy");
  natsConnection_Flush(agent.get());
  ASSERT_TRUE(inbox.await(3));
  publisher.on_disconnected();
  publisher.on_reconnected();
  natsConnection_Flush(agent.get());
  ASSERT_TRUE(inbox.await(5));
  const auto seen = inbox.all();
  EXPECT_EQ(seen[3].subject, "_INBOX.replayed.1");
  EXPECT_EQ(seen[3].body, R"({"n":1})");
  EXPECT_EQ(seen[3].agent, "agent-id");
  EXPECT_EQ(seen[4].subject, "_INBOX.replayed.3");
  EXPECT_EQ(seen[4].status, "busy");
  publisher.on_reconnected();  // once only: nothing more is sent before the marker
  publisher.reply("_INBOX.replayed.9", "{}");
  ASSERT_TRUE(inbox.await(6));
  EXPECT_EQ(inbox.all()[5].subject, "_INBOX.replayed.9");
}

}  // namespace
}  // namespace polaris
