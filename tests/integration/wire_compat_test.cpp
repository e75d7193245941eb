// A peer speaking the reference protocol with raw NATS messages, mixed with polaris.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <set>

#include "polaris/polaris.hpp"
#include "registry/nats_server.hpp"
#include "support/calculator.hpp"
#include "support/process_fixtures.hpp"
#include "transport/subscription.hpp"

namespace polaris {
namespace {

using test::add;

// The golden declaration from the reference page, as a reference agent sends it.
const char* kGoldenCalculator = R"({"name":"refcalc","description":"simple calculator",
 "parameters":{"type":"OBJECT","description":"calc params","nullable":true,
   "properties":{
     "a":{"type":"NUMBER","description":"first operand","nullable":true},
     "b":{"type":"NUMBER","description":"second operand","nullable":true},
     "operation":{"type":"STRING","description":"operation to perform","format":"enum",
                  "enum":["add","subtract","multiply","divide"],"nullable":true}},
   "required":["operation","a","b"]},
 "response":{"type":"OBJECT","description":"result of calculation","nullable":true,
   "properties":{"result":{"type":"NUMBER","description":"result","nullable":true}},
   "required":["result"]}})";

Json sorted_required(Json json) {
  if (json.is_object()) {
    for (auto& [key, value] : json.items()) {
      if (key == "required") {
        std::set<std::string> names(value.begin(), value.end());
        value = Json(names);
      } else {
        value = sorted_required(value);
      }
    }
  }
  return json;
}

class WireCompatTest : public ::testing::Test {
 protected:
  Registry registry_ = Registry::start({.bind = {.port = 0}});
  test::RawNats peer_{registry_.client_url()};
};

TEST_F(WireCompatTest, ReferenceAgentToolIsListedAndCalledByPolaris) {
  // The reference agent: subscribe, then register.
  detail::Subscription serving(
      peer_.get(), "polaris:user-func:refcalc", "", [this](detail::NatsMsgPtr msg) {
        const Json args =
            Json::parse(std::string(natsMsg_GetData(msg.get()), natsMsg_GetDataLength(msg.get())));
        const Json reply = args["operation"] == "add"
                               ? Json{{"result", args["a"].get<double>() + args["b"].get<double>()}}
                               : Json{{"_error", "unsupported"}};
        const std::string body = reply.dump();
        natsConnection_PublishString(peer_.get(), natsMsg_GetReply(msg.get()), body.c_str());
      });
  const Json registered = Json::parse(peer_.request("polaris:tool:register", kGoldenCalculator));
  EXPECT_EQ(registered, Json({{"success", true}, {"msg", "OK"}}));

  auto client = connect({.servers = {registry_.client_url()}});
  const auto tools = client.list_tools();
  ASSERT_EQ(tools.size(), 1U);
  EXPECT_EQ(sorted_required(tools[0].to_json()), sorted_required(Json::parse(kGoldenCalculator)));
  EXPECT_EQ(client.call("refcalc", add(1, 2)), Json({{"result", 3.0}}));
  try {
    client.call("refcalc", {{"operation", "divide"}, {"a", 1}, {"b", 2}});
    FAIL() << "the reference tool's _error was not reported";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::tool_failed);
    EXPECT_STREQ(error.what(), "unsupported");
  }
  EXPECT_EQ(Json::parse(peer_.request("polaris:tool:unregister", R"({"name":"refcalc"})")),
            Json({{"success", true}, {"msg", "OK"}}));
  EXPECT_EQ(Json::parse(peer_.request("polaris:tool:unregister", R"({"name":"refcalc"})")),
            Json({{"success", false}, {"msg", "unregister: refcalc not found"}}));
}

TEST_F(WireCompatTest, ReferencePeerCallsAndListsAPolarisTool) {
  auto agent = connect({.servers = {registry_.client_url()}});
  agent.register_tool(test::calculator("refcalc"));
  const Json listed = Json::parse(peer_.request("polaris:tool:list", ""));
  ASSERT_TRUE(listed.is_array());
  ASSERT_EQ(listed.size(), 1U);
  // The reference's fields exactly, plus the polaris extension field (which a Go registry drops
  // and Go peers ignore).
  Json reference_part = listed[0];
  EXPECT_EQ(
      reference_part["polaris"],
      Json({{"replicas", 1}, {"replicable", false}, {"idempotent", false}, {"timeout_ms", 0}}));
  reference_part.erase("polaris");
  EXPECT_EQ(sorted_required(reference_part), sorted_required(Json::parse(kGoldenCalculator)));
  EXPECT_EQ(
      Json::parse(peer_.request("polaris:user-func:refcalc", R"({"operation":"add","a":1,"b":2})")),
      Json({{"result", 3.0}}));
  EXPECT_EQ(Json::parse(peer_.request("polaris:user-func:refcalc",
                                      R"({"operation":"divide","a":1,"b":0})")),
            Json({{"_error", "divide by zero"}}));
  // A duplicate registration from a reference peer is refused with the reference's message.
  EXPECT_EQ(Json::parse(peer_.request("polaris:tool:register", kGoldenCalculator)),
            Json({{"success", false}, {"msg", "register: refcalc already registered"}}));
}

TEST_F(WireCompatTest, DeclarationExtrasTravelAndStandardFieldsWin) {
  auto agent = connect({.servers = {registry_.client_url()}});
  Tool tool = test::calculator("with_extra");
  tool.declaration_extra = {{"parametersJsonSchema", {{"type", "object"}}},
                            {"name", "cannot override"}};
  agent.register_tool(tool);
  const Json listed = Json::parse(peer_.request("polaris:tool:list", ""));
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0]["name"], "with_extra");
  EXPECT_EQ(listed[0]["parametersJsonSchema"], Json({{"type", "object"}}));
  EXPECT_EQ(agent.list_tools()[0].extra, Json({{"parametersJsonSchema", {{"type", "object"}}}}));
  Tool bad = test::calculator("bad_extra");
  bad.declaration_extra = Json::array();
  EXPECT_THROW(agent.register_tool(bad), Error);
}

TEST_F(WireCompatTest, ReferenceKeepaliveReAddsUnknownTools) {
  const Json keepalive = Json::array({Json::parse(kGoldenCalculator)});
  EXPECT_EQ(Json::parse(peer_.request("polaris:tool:keepalive", keepalive.dump())),
            Json({{"success", true}, {"msg", "OK"}}));
  EXPECT_EQ(registry_.tool_count(), 1U);
}

// A polaris agent with a user name writes to the registry on its own subjects
// (polaris.registry.user.<user>.*). A registry that answers only the reference's subjects (a Go
// registry; here raw subscriptions on a bare nats-server) is still served: the agent falls back
// to them and stays there for its unregistration.
TEST(WireCompatUserSubjects, AnAgentWithAUserNameFallsBackToAReferenceRegistry) {
  RegistryOptions bare;
  bare.bind.port = 0;
  detail::NatsServer nats(bare, spdlog::default_logger());
  test::RawNats reference(nats.client_url());
  std::mutex mutex;
  std::vector<std::string> heard;
  std::vector<detail::Subscription> registry;
  for (const char* subject :
       {"polaris:tool:register", "polaris:tool:keepalive", "polaris:tool:unregister"}) {
    registry.emplace_back(reference.get(), subject, "", [&](detail::NatsMsgPtr msg) {
      {
        std::lock_guard lock(mutex);
        heard.emplace_back(natsMsg_GetSubject(msg.get()));
      }
      natsConnection_PublishString(reference.get(), natsMsg_GetReply(msg.get()),
                                   R"({"success": true, "msg": "OK"})");
    });
  }
  natsConnection_Flush(reference.get());
  auto agent = connect({.servers = {nats.client_url()}, .user = "alice", .password = "pw"});
  EXPECT_EQ(agent.agent_id().rfind("alice.", 0), 0U) << agent.agent_id();
  agent.register_tool(test::calculator());
  agent.unregister_tool("calculator");
  std::lock_guard lock(mutex);
  EXPECT_EQ(heard, (std::vector<std::string>{"polaris:tool:register", "polaris:tool:unregister"}));
}

// The typed calculator (describe.hpp, typed.hpp): what a reference peer sees of it is the golden
// declaration, and polaris callers call it with typed arguments and results.
enum class Op { add, subtract, multiply, divide };
POLARIS_DESCRIBE_ENUM(Op, add, subtract, multiply, divide);
struct Calc {
  Op operation;
  double a;
  double b;
};
POLARIS_DESCRIBE_STRUCT(Calc, "calc params", (operation, "operation to perform"),
                        (a, "first operand"), (b, "second operand"));
struct Sum {
  double result;
};
POLARIS_DESCRIBE_STRUCT(Sum, "result of calculation", (result, "result"));

TEST_F(WireCompatTest, TypedToolDeclaresTheGoldenCalculatorAndIsCalledTyped) {
  auto agent = connect({.servers = {registry_.client_url()}});
  agent.register_tool("refcalc", "simple calculator", [](const Calc& c) {
    if (c.operation == Op::add) return Sum{c.a + c.b};
    if (c.operation == Op::subtract) return Sum{c.a - c.b};
    if (c.operation == Op::multiply) return Sum{c.a * c.b};
    if (c.b == 0) throw error("divide by zero");
    return Sum{c.a / c.b};
  });
  const Json listed = Json::parse(peer_.request("polaris:tool:list", ""));
  ASSERT_EQ(listed.size(), 1U);
  Json reference_part = listed[0];
  reference_part.erase("polaris");
  EXPECT_EQ(sorted_required(reference_part), sorted_required(Json::parse(kGoldenCalculator)));
  // A reference peer calls it with plain JSON, and gets the reference's replies.
  EXPECT_EQ(
      Json::parse(peer_.request("polaris:user-func:refcalc", R"({"operation":"add","a":1,"b":2})")),
      Json({{"result", 3.0}}));
  EXPECT_EQ(Json::parse(peer_.request("polaris:user-func:refcalc",
                                      R"({"operation":"divide","a":1,"b":0})")),
            Json({{"_error", "divide by zero"}}));
  EXPECT_EQ(Json::parse(peer_.request("polaris:user-func:refcalc", R"({"operation":"mod","a":1})"))
                .at("_error")
                .get<std::string>()
                .rfind("invalid arguments: ", 0),
            0U);

  auto client = connect({.servers = {registry_.client_url()}});
  EXPECT_EQ(client.call<Sum>("refcalc", Calc{Op::multiply, 6, 7}).result, 42.0);
  auto pending = client.call_async<Sum>("refcalc", Calc{Op::subtract, 1, 3});
  EXPECT_EQ(pending.get().result, -2.0);
  EXPECT_EQ(client.call<Json>("refcalc", Calc{Op::add, 1, 2}), Json({{"result", 3.0}}));
  try {
    (void)client.call<Sum>("refcalc", Calc{Op::divide, 1, 0});
    ADD_FAILURE() << "divide by zero did not fail";
  } catch (const Error& failure) {
    EXPECT_EQ(failure.code(), Errc::tool_failed);
    EXPECT_STREQ(failure.what(), "divide by zero");
  }
  // A reply that does not match the expected type is the peer's fault: Errc::protocol.
  try {
    (void)client.call<Calc>("refcalc", Calc{Op::add, 1, 2});
    ADD_FAILURE() << "a Sum reply parsed as Calc";
  } catch (const Error& failure) {
    EXPECT_EQ(failure.code(), Errc::protocol);
    EXPECT_STREQ(failure.what(),
                 "the reply of refcalc does not match the expected type: operation: required");
  }
}

}  // namespace
}  // namespace polaris
