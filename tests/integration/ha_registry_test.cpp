// The registry side of high availability, spoken at the wire level against real clusters:
// one catalogue on every node (copied at start, replicated after), one answer per request,
// races with one winner, replicas, liveness from heartbeats, pages.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "polaris/polaris.hpp"
#include "protocol/wire.hpp"
#include "support/cluster.hpp"
#include "support/process_fixtures.hpp"
#include "support/wait.hpp"
#include "transport/subscription.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using test::RawNats;
using test::RegistryProcess;

std::vector<std::string> cluster_args(const std::vector<std::string>& routes,
                                      std::vector<std::string> extra = {}) {
  auto args = test::cluster_node_args("ha-test", routes);
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

Json polaris_tool(const std::string& name, const std::string& agent, bool replicable = false,
                  const std::string& description = "") {
  return {{"name", name},
          {"description", description},
          {"polaris", {{"agent", agent}, {"replicable", replicable}}}};
}

/// A polaris agent played at the wire level: registers, sends heartbeats and keepalives, and
/// records what the registry tells it.
class WireAgent {
 public:
  WireAgent(const std::string& url, std::string id) : nats_(url), id_(std::move(id)) {
    subscriptions_.emplace_back(nats_.get(), wire::agent_subject(id_, "resync"), "",
                                [this](detail::NatsMsgPtr) { ++resyncs_; });
    subscriptions_.emplace_back(nats_.get(), wire::agent_subject(id_, "revoked"), "",
                                [this](detail::NatsMsgPtr msg) {
                                  std::lock_guard lock(mutex_);
                                  revoked_.push_back(Json::parse(natsMsg_GetData(msg.get())));
                                });
    natsConnection_Flush(nats_.get());
  }

  Json register_batch(const Json& tools) {
    return Json::parse(
        nats_.request(std::string(wire::kBatchRegisterSubject), Json{{"tools", tools}}.dump()));
  }
  void heartbeat(std::size_t tools) {
    const std::string body = Json{{"agent", id_}, {"tools", tools}}.dump();
    natsConnection_PublishString(nats_.get(), std::string(wire::kAgentHeartbeatSubject).c_str(),
                                 body.c_str());
    natsConnection_Flush(nats_.get());
  }
  Json keepalive(const Json& tools) {
    return Json::parse(nats_.request(std::string(wire::kKeepaliveSubject), tools.dump()));
  }
  int resyncs() const { return resyncs_; }
  std::vector<Json> revoked() const {
    std::lock_guard lock(mutex_);
    return revoked_;
  }
  const std::string& id() const { return id_; }
  RawNats& nats() { return nats_; }

 private:
  RawNats nats_;
  std::string id_;
  std::atomic<int> resyncs_{0};
  mutable std::mutex mutex_;
  std::vector<Json> revoked_;
  std::vector<detail::Subscription> subscriptions_;
};

using test::names_on;

TEST(HaRegistry, ANodeThatStartsCopiesTheWholeCatalogueBeforeItServes) {
  RegistryProcess first(cluster_args({}));
  WireAgent agent(first.client_url(), "agentA");
  Json tools = Json::array();
  for (int i = 0; i < 200; ++i) tools.push_back(polaris_tool("tool" + std::to_string(i), "agentA"));
  ASSERT_TRUE(agent.register_batch(tools)["success"].get<bool>());
  RegistryProcess second(cluster_args({first.cluster_url()}));
  // Without the first node, the second still has everything: it copied the catalogue before
  // it became ready, not lazily.
  first.kill_hard();
  EXPECT_EQ(names_on(second).size(), 200U);
}

TEST(HaRegistry, EachRequestCostsTheClusterOneAnswer) {
  RegistryProcess first(cluster_args({}));
  RegistryProcess second(cluster_args({first.cluster_url()}));
  RegistryProcess third(cluster_args({first.cluster_url()}));
  RawNats raw(second.client_url());
  std::atomic<int> answers{0};
  detail::Subscription inbox(raw.get(), "ha-test.answers", "",
                             [&](detail::NatsMsgPtr) { ++answers; });
  natsConnection_Flush(raw.get());
  constexpr int kRequests = 30;
  for (int i = 0; i < kRequests; ++i) {
    natsConnection_PublishRequestString(raw.get(), "polaris:tool:list", "ha-test.answers", "");
    natsConnection_PublishRequestString(raw.get(), "polaris:tool:keepalive", "ha-test.answers",
                                        "[]");
    // A leave too: one node takes it and replicates it (issue 11, gap (f)).
    natsConnection_PublishRequestString(raw.get(), "polaris.registry.agent.leave",
                                        "ha-test.answers", R"({"agent": "nobody"})");
  }
  natsConnection_Flush(raw.get());
  ASSERT_TRUE(test::wait_until([&] { return answers >= 3 * kRequests; }));
  // Extra answers would come from the other nodes within a route hop; give them ample time.
  EXPECT_FALSE(test::wait_until([&] { return answers > 3 * kRequests; }, 500ms));
}

// With nothing to wait for (--replication-timeout 0: no confirmations), a change is still
// replicated at once: its event is published without a reply subject (nats.c refuses a request
// without one, and the event used to be lost, left to anti-entropy seconds later).
TEST(HaRegistry, ChangesAreReplicatedWhenNoConfirmationIsAwaited) {
  RegistryProcess first(cluster_args({}, {"--replication-timeout", "0"}));
  RegistryProcess second(cluster_args({first.cluster_url()}, {"--replication-timeout", "0"}));
  RawNats spy(second.client_url());
  std::atomic<int> events{0};
  detail::Subscription subscription(spy.get(), std::string(wire::kSyncEventSubject), "",
                                    [&](detail::NatsMsgPtr) { ++events; });
  natsConnection_Flush(spy.get());
  test::await_route(first, second);  // first knows of the spy's subscription too
  WireAgent agent(first.client_url(), "quick");
  ASSERT_TRUE(
      agent.register_batch(Json::array({polaris_tool("q", "quick")}))["success"].get<bool>());
  EXPECT_TRUE(test::wait_until([&] { return events > 0; }))
      << "no replication event for a registration";
}

TEST(HaRegistry, RacingRegistrationsOnTwoNodesEndWithOneOwnerEverywhere) {
  RegistryProcess first(cluster_args({}));
  RegistryProcess second(cluster_args({first.cluster_url()}));
  WireAgent left(first.client_url(), "left");
  WireAgent right(second.client_url(), "right");
  constexpr int kRaces = 10;
  for (int race = 0; race < kRaces; ++race) {
    const std::string name = "contested" + std::to_string(race);
    Json left_reply;
    Json right_reply;
    std::thread other([&] {
      right_reply = right.register_batch(Json::array({polaris_tool(name, "right", false, "R")}));
    });
    left_reply = left.register_batch(Json::array({polaris_tool(name, "left", false, "L")}));
    other.join();
    const bool left_won = left_reply["success"].get<bool>();
    const bool right_won = right_reply["success"].get<bool>();
    // Exactly one is told OK (or the other is told afterwards that it lost).
    const auto revoked_of = [&](WireAgent& agent) {
      for (const auto& message : agent.revoked()) {
        if (message["name"] == name) return true;
      }
      return false;
    };
    const bool left_owns = left_won && !revoked_of(left);
    const bool right_owns = right_won && !revoked_of(right);
    EXPECT_NE(left_owns, right_owns) << name << ": " << left_reply << " / " << right_reply;
    const std::string winner = left_owns ? "L" : "R";
    for (const auto* node : {&first, &second}) {
      RawNats raw(node->client_url());
      EXPECT_TRUE(test::wait_until([&] {
        for (const auto& tool : Json::parse(raw.request("polaris:tool:list", ""))) {
          if (tool["name"] == name) return tool["description"] == winner;
        }
        return false;
      })) << name;
    }
  }
}

TEST(HaRegistry, ReplicasShareANameWhenDeclaredSoAndIdentical) {
  RegistryProcess node;
  WireAgent one(node.client_url(), "replica1");
  WireAgent two(node.client_url(), "replica2");
  WireAgent three(node.client_url(), "replica3");
  EXPECT_TRUE(one.register_batch(Json::array({polaris_tool("r", "replica1", true)}))["success"]
                  .get<bool>());
  EXPECT_TRUE(two.register_batch(Json::array({polaris_tool("r", "replica2", true)}))["success"]
                  .get<bool>());
  const Json refused =
      three.register_batch(Json::array({polaris_tool("r", "replica3", true, "different")}));
  EXPECT_FALSE(refused["success"].get<bool>());
  EXPECT_EQ(refused["results"][0]["msg"],
            "register: r already registered with a different declaration");
  const Json listed = Json::parse(RawNats(node.client_url()).request("polaris:tool:list", ""));
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0]["polaris"]["replicas"], 2);
  EXPECT_FALSE(listed[0]["polaris"].contains("agent"));
  // An unregister from one replica leaves the other serving.
  const Json gone = Json::parse(
      one.nats().request("polaris:tool:unregister", polaris_tool("r", "replica1", true).dump()));
  EXPECT_TRUE(gone["success"].get<bool>());
  EXPECT_EQ(names_on(node), std::set<std::string>{"r"});
}

TEST(HaRegistry, SilentAgentsLeaveEveryNodeAndComeBackThroughAResync) {
  RegistryProcess first(cluster_args({}, {"--agent-timeout", "2s"}));
  RegistryProcess second(cluster_args({first.cluster_url()}, {"--agent-timeout", "2s"}));
  WireAgent agent(first.client_url(), "quiet");
  RawNats watcher(second.client_url());
  std::atomic<int> gone{0};
  detail::Subscription announcements(
      watcher.get(), std::string(wire::kAgentGoneSubject), "", [&](detail::NatsMsgPtr msg) {
        if (Json::parse(natsMsg_GetData(msg.get()))["agent"] == "quiet") ++gone;
      });
  natsConnection_Flush(watcher.get());
  const Json tools = Json::array({polaris_tool("q1", "quiet"), polaris_tool("q2", "quiet")});
  ASSERT_TRUE(agent.register_batch(tools)["success"].get<bool>());
  agent.heartbeat(2);
  ASSERT_TRUE(test::wait_until([&] { return names_on(second).size() == 2; }));
  // Silence: both nodes drop the tools and announce it.
  EXPECT_TRUE(
      test::wait_until([&] { return names_on(first).empty() && names_on(second).empty(); }));
  EXPECT_TRUE(test::wait_until([&] { return gone > 0; }));
  // Back: a heartbeat reporting 2 tools makes the registry ask for them; the keepalive restores.
  agent.heartbeat(2);
  ASSERT_TRUE(test::wait_until([&] { return agent.resyncs() > 0; }));
  EXPECT_TRUE(agent.keepalive(tools)["success"].get<bool>());
  agent.heartbeat(2);
  EXPECT_TRUE(test::wait_until([&] { return names_on(second).size() == 2; }));
}

// A batch that fits one request grows when the registry stamps its claims: replication splits
// it into as many events as the max payload requires, so the other node gets every tool.
TEST(HaRegistry, ABatchNearTheMaxPayloadReachesEveryNode) {
  RegistryProcess first(cluster_args({}, {"--max-payload", "65536"}));
  RegistryProcess second(cluster_args({first.cluster_url()}, {"--max-payload", "65536"}));
  WireAgent agent(first.client_url(), "near");
  Json batch = Json::array();
  std::size_t size = 0;
  for (int i = 0; size < 60000; ++i) {
    batch.push_back(polaris_tool("near" + std::to_string(i), "near", false, std::string(200, 'd')));
    size = Json{{"tools", batch}}.dump().size();
  }
  batch.erase(batch.end() - 1);  // back under the limit
  ASSERT_TRUE(agent.register_batch(batch)["success"].get<bool>());
  agent.heartbeat(batch.size());
  EXPECT_TRUE(test::wait_until([&] { return names_on(second).size() == batch.size(); }))
      << names_on(second).size() << " of " << batch.size();
}

// A closing agent withdraws all its tools with one request, and every node drops them at once,
// long before an agent timeout would (here a minute).
TEST(HaRegistry, ALeavingAgentsToolsLeaveEveryNode) {
  RegistryProcess first(cluster_args({}, {"--agent-timeout", "60s"}));
  RegistryProcess second(cluster_args({first.cluster_url()}, {"--agent-timeout", "60s"}));
  WireAgent agent(first.client_url(), "leaver");
  WireAgent stayer(first.client_url(), "stayer");
  Json tools = Json::array();
  for (int i = 0; i < 300; ++i) tools.push_back(polaris_tool("l" + std::to_string(i), "leaver"));
  ASSERT_TRUE(agent.register_batch(tools)["success"].get<bool>());
  ASSERT_TRUE(
      stayer.register_batch(Json::array({polaris_tool("s", "stayer")}))["success"].get<bool>());
  agent.heartbeat(300);
  stayer.heartbeat(1);
  ASSERT_TRUE(test::wait_until([&] { return names_on(second).size() == 301; }));

  const Json reply = Json::parse(agent.nats().request(std::string(wire::kAgentLeaveSubject),
                                                      Json{{"agent", "leaver"}}.dump()));
  EXPECT_TRUE(reply["success"].get<bool>()) << reply;
  // Answered once every node withdrew them (read-your-writes).
  EXPECT_EQ(names_on(first), std::set<std::string>{"s"});
  EXPECT_EQ(names_on(second), std::set<std::string>{"s"});
  const Json malformed =
      Json::parse(agent.nats().request(std::string(wire::kAgentLeaveSubject), "[]"));
  EXPECT_FALSE(malformed["success"].get<bool>()) << malformed;
}

TEST(HaRegistry, LargeCataloguesArePagedAndTheReferenceListFailsClearly) {
  RegistryProcess node({"--max-payload", "65536"});
  WireAgent agent(node.client_url(), "big");
  constexpr int kTools = 2000;
  Json batch = Json::array();
  for (int i = 0; i < kTools; ++i) {
    batch.push_back(polaris_tool("tool" + std::to_string(10000 + i), "big", false,
                                 "a tool with a description of some length"));
    if (batch.size() == 200) {
      ASSERT_TRUE(agent.register_batch(batch)["success"].get<bool>());
      batch = Json::array();
    }
  }
  RawNats raw(node.client_url());
  const Json refused = Json::parse(raw.request("polaris:tool:list", ""));
  ASSERT_TRUE(refused.is_object());
  EXPECT_FALSE(refused["success"].get<bool>());
  EXPECT_NE(refused["msg"].get<std::string>().find("exceeds the max payload"), std::string::npos);
  std::set<std::string> names;
  std::string after;
  while (true) {
    const std::string text =
        raw.request(std::string(wire::kPagedListSubject), Json{{"after", after}}.dump());
    EXPECT_LE(text.size(), 65536U);
    const Json page = Json::parse(text);
    for (const auto& tool : page["tools"]) names.insert(tool["name"].get<std::string>());
    if (!page.contains("next")) break;
    after = page["next"].get<std::string>();
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(kTools));
}

}  // namespace
}  // namespace polaris

namespace polaris {
namespace {

TEST(HaRegistry, DeeplyNestedBodiesAreRefusedWithoutHarm) {
  RegistryProcess node;
  RawNats raw(node.client_url());
  const std::string nested(200000, '[');
  for (const auto subject : {wire::kRegisterSubject, wire::kKeepaliveSubject,
                             wire::kBatchRegisterSubject, wire::kSyncEventSubject}) {
    if (subject == wire::kSyncEventSubject) {
      natsConnection_PublishString(raw.get(), std::string(subject).c_str(), nested.c_str());
      continue;
    }
    const Json reply = Json::parse(raw.request(std::string(subject), nested));
    EXPECT_FALSE(reply["success"].get<bool>()) << subject;
  }
  EXPECT_TRUE(Json::parse(raw.request("polaris:tool:list", "")).is_array());
  EXPECT_TRUE(node.process().running());
}

}  // namespace
}  // namespace polaris
