// Sessions over a real registry and real tool agents; the model is a local server replaying
// recorded (square_root) and synthetic (parallel calls, errors) exchanges.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "fake_tools.hpp"
#include "fixtures.hpp"
#include "polaris/connection.hpp"
#include "polaris/llm.hpp"
#include "polaris/registry.hpp"
#include "square_root.hpp"
#include "test_options.hpp"

namespace polaris::test {
namespace {

constexpr const char* kGenerate = "/v1beta/models/gemini-flash-latest:generateContent";

class LlmWithRegistry : public testing::Test {
 protected:
  LlmWithRegistry()
      : registry_(Registry::start({.bind = {.port = 0}})),
        agent_(connect({.servers = {registry_.client_url()}})),
        client_(connect({.servers = {registry_.client_url()}})) {}

  static Json declared_names(const Received& request) {
    Json names = Json::array();
    const Json body = request.json();
    if (!body.contains("tools")) return names;
    for (const auto& d : body["tools"][0]["functionDeclarations"]) names.push_back(d["name"]);
    return names;
  }

  FakeServer model_;
  Registry registry_;
  Connection agent_;
  Connection client_;
};

TEST_F(LlmWithRegistry, SquareRootRoundTripThroughARealAgent) {
  agent_.register_tool(square_root_tool());
  const auto turn1 = load_fixture("gemini/flash-thinking-GenSync-Tools-SquareRoot-1.yaml");
  const auto turn2 = load_fixture("gemini/flash-thinking-GenSync-Tools-SquareRoot-2.yaml");
  model_.expect("POST", turn1.target, turn1.reply());
  model_.expect("POST", turn2.target, turn2.reply());

  Session session(client_, gemini_options(model_));
  EXPECT_EQ(session.ask(turn1.request_json()["contents"][0]["parts"][0]["text"].get<std::string>()),
            "363.89");
  const auto got = model_.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(declared_names(got[0]), Json::array({"square_root"}));
  EXPECT_EQ(got[1].json()["contents"][2], turn2.request_json()["contents"][2]);
}

TEST_F(LlmWithRegistry, ThePolarisDeclarationFieldNeverReachesTheProvider) {
  Tool tool = square_root_tool();
  tool.replicable = true;
  tool.idempotent = true;
  tool.timeout = std::chrono::seconds(30);
  agent_.register_tool(std::move(tool));
  // The catalogue carries the field (else this test would prove nothing)...
  const auto listed = client_.list_tools();
  ASSERT_EQ(listed.size(), 1u);
  ASSERT_TRUE(listed[0].polaris.has_value());
  const auto turn1 = load_fixture("gemini/flash-thinking-GenSync-Tools-SquareRoot-1.yaml");
  const auto turn2 = load_fixture("gemini/flash-thinking-GenSync-Tools-SquareRoot-2.yaml");
  model_.expect("POST", turn1.target, turn1.reply());
  model_.expect("POST", turn2.target, turn2.reply());
  Session session(client_, gemini_options(model_));
  (void)session.ask(turn1.request_json()["contents"][0]["parts"][0]["text"].get<std::string>());
  const auto got = model_.received();
  ASSERT_FALSE(got.empty());
  // ...and the provider's function declarations do not.
  const Json declarations = got[0].json()["tools"][0]["functionDeclarations"];
  ASSERT_EQ(declarations.size(), 1u);
  EXPECT_FALSE(declarations[0].contains("polaris"));
  EXPECT_EQ(got[0].body.find("timeout_ms"), std::string::npos);
}

TEST_F(LlmWithRegistry, ParallelCallsOverlapInRealHandlers) {
  Rendezvous both(2);
  const auto add_calculator = [&](const char* name, bool multiply) {
    agent_.register_tool({
        .name = name,
        .description = multiply ? "a*b" : "a+b",
        .parameters =
            Object{.properties = {{"a", Float{.required = true}}, {"b", Float{.required = true}}}},
        .response = Object{.properties = {{"result", Float{.required = true}}}},
        .handler = [&both, multiply](const Request& req) -> Result {
          if (!both.arrive_and_wait()) return polaris::error("calls did not overlap");
          const double a = req.number("a"), b = req.number("b");
          return Json{{"result", multiply ? a * b : a + b}};
        },
        .on_error = {},
    });
  };
  add_calculator("calculatorA", false);
  add_calculator("calculatorB", true);
  model_.expect("POST", kGenerate, Reply{.body = synthetic("gemini-two-calls.json")});
  model_.expect("POST", kGenerate, Reply{.body = synthetic("gemini-two-calls-answer.json")});

  Session session(client_, gemini_options(model_));
  EXPECT_EQ(session.ask("35+21, then times 88"), "56 and 4928");
  const Json parts = model_.received().at(1).json()["contents"][2]["parts"];
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0]["functionResponse"]["response"]["result"], 56.0);
  EXPECT_EQ(parts[1]["functionResponse"]["response"]["result"], 4928.0);
}

TEST_F(LlmWithRegistry, ToolErrorAndDeadToolGoBackToTheModel) {
  agent_.register_tool({
      .name = "flaky",
      .description = "always fails",
      .parameters = Object{.properties = {{"x", Int{}}}},
      .response = {},
      .handler = [](const Request&) -> Result { return polaris::error("disk on fire"); },
      .on_error = {},
  });
  {
    // "gone" is served by an agent that then goes away.
    Connection other = connect({.servers = {registry_.client_url()}});
    other.register_tool({.name = "gone",
                         .description = "soon dead",
                         .parameters = {},
                         .response = {},
                         .handler = [](const Request&) -> Result { return Json::object(); },
                         .on_error = {}});
  }
  model_.expect("POST", kGenerate, Reply{.body = synthetic("gemini-one-call.json")});
  model_.expect("POST", kGenerate, Reply{.body = synthetic("gemini-text.json")});
  std::vector<FunctionCallEvent> finished;
  std::mutex mutex;
  auto options = gemini_options(model_);
  options.call_timeout = std::chrono::milliseconds(2000);
  options.on_function_call = [&](const FunctionCallEvent& e) {
    std::lock_guard lock(mutex);
    if (e.finished) finished.push_back(e);
  };
  Session session(client_, options);
  EXPECT_EQ(session.ask("try both"), "done");
  const Json parts = model_.received().at(1).json()["contents"][2]["parts"];
  EXPECT_EQ(parts[0]["functionResponse"]["response"]["error"], "disk on fire");
  EXPECT_TRUE(parts[1]["functionResponse"]["response"].contains("error"));
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_FALSE(finished[0].ok);
  EXPECT_FALSE(finished[1].ok);
}

TEST_F(LlmWithRegistry, EachTurnReadsTheLiveCatalogueAndSkipsOwnTools) {
  client_.register_tool({.name = "mine",
                         .description = "the client's own tool",
                         .parameters = {},
                         .response = {},
                         .handler = [](const Request&) -> Result { return Json::object(); },
                         .on_error = {}});
  model_.expect("POST", kGenerate, Reply{.body = synthetic("gemini-text.json")});
  model_.expect("POST", kGenerate, Reply{.body = synthetic("gemini-text.json")});
  Session session(client_, gemini_options(model_));
  session.ask("first");
  agent_.register_tool({.name = "late",
                        .description = "appeared after the first send",
                        .parameters = {},
                        .response = {},
                        .handler = [](const Request&) -> Result { return Json::object(); },
                        .on_error = {}});
  session.ask("second");
  const auto got = model_.received();
  EXPECT_EQ(declared_names(got[0]), Json::array());
  EXPECT_EQ(declared_names(got[1]), Json::array({"late"}));
}

}  // namespace
}  // namespace polaris::test
