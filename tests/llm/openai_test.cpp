// OpenAI-compatible sessions against a local server replaying recorded and synthetic exchanges.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "fake_tools.hpp"
#include "fixtures.hpp"
#include "llm/session_impl.hpp"
#include "square_root.hpp"
#include "test_options.hpp"

namespace polaris::test {
namespace {

constexpr const char* kPath = "/v1/chat/completions";

void check_round_trip(bool stream) {
  const std::string kind = stream ? "GenStream" : "GenSync";
  const auto turn1 = load_fixture("openai/luna-thinking-" + kind + "-Tools-SquareRoot-1.yaml");
  const auto turn2 = load_fixture("openai/luna-thinking-" + kind + "-Tools-SquareRoot-2.yaml");
  ASSERT_EQ(turn1.target, kPath);
  FakeServer server;
  server.expect("POST", kPath, turn1.reply());
  server.expect("POST", kPath, turn2.reply());
  Session session = make_session(openai_options(server, stream), square_root_tools());

  std::string answer;
  session.send_text(kSquareRootPrompt, [&](std::string_view piece) {
    answer += piece;
    return true;
  });
  EXPECT_EQ(answer, "363.89");

  const auto got = server.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].header("authorization"), "Bearer sk-test");
  const Json first = got[0].json();
  EXPECT_EQ(first["model"], "gpt-5.6-luna");
  EXPECT_EQ(first["stream"], stream);
  // No sampling parameters unless asked for: reasoning models reject them.
  EXPECT_FALSE(first.contains("temperature"));
  EXPECT_FALSE(first.contains("top_p"));
  const Json& fn = first["tools"][0]["function"];
  EXPECT_EQ(fn["name"], "square_root");
  EXPECT_EQ(fn["parameters"]["type"], "object");
  EXPECT_EQ(fn["parameters"]["properties"]["number"]["type"], "number");

  // The assistant's tool call goes back with its id and its arguments string; the tool message
  // answers that id with the tool's real result.
  const Json second = got[1].json();
  const Json recorded = turn2.request_json();
  const Json& assistant = second["messages"][1];
  EXPECT_EQ(assistant["role"], "assistant");
  EXPECT_EQ(assistant["tool_calls"], recorded["messages"][1]["tool_calls"]);
  const Json& tool = second["messages"][2];
  EXPECT_EQ(tool["role"], "tool");
  EXPECT_EQ(tool["tool_call_id"], recorded["messages"][2]["tool_call_id"]);
  EXPECT_EQ(Json::parse(tool["content"].get<std::string>()), (Json{{"response", "363.89"}}));

  EXPECT_EQ(session.usage().input_tokens, 155 + 187);
}

TEST(OpenAiSession, SyncToolRoundTrip) { check_round_trip(false); }
TEST(OpenAiSession, StreamedToolRoundTripJoinsArgumentFragments) { check_round_trip(true); }

TEST(OpenAiSession, StreamedParallelCallsJoinedByIndexAndRunConcurrently) {
  FakeServer server;
  server.expect(
      "POST", kPath,
      Reply{.body = synthetic("openai-two-calls.sse"), .content_type = "text/event-stream"});
  server.expect("POST", kPath,
                Reply{.body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"done\"},"
                              "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
                      .content_type = "text/event-stream"});
  auto tools = std::make_unique<FakeTools>();
  Rendezvous both(2);
  tools->add("calculatorA", Json(), [&](const Json& args) {
    if (!both.arrive_and_wait()) throw Error(Errc::tool_failed, "calls did not overlap");
    return Json{{"result", args["a"].get<int>() + args["b"].get<int>()}};
  });
  tools->add("calculatorB", Json(), [&](const Json& args) {
    if (!both.arrive_and_wait()) throw Error(Errc::tool_failed, "calls did not overlap");
    return Json{{"result", args["a"].get<int>() * args["b"].get<int>()}};
  });
  Session session = make_session(openai_options(server, true), std::move(tools));
  std::string text;
  session.send_text("chain", [&](std::string_view piece) {
    text += piece;
    return true;
  });
  EXPECT_EQ(text, "done");  // reasoning_content is not answer text
  const auto got = server.received();
  ASSERT_EQ(got.size(), 2u);
  const Json second = got[1].json();
  const Json& calls = second["messages"][1]["tool_calls"];
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["id"], "call_a");
  EXPECT_EQ(calls[0]["function"]["arguments"], "{\"a\":35,\"b\":21}");
  EXPECT_EQ(calls[1]["id"], "call_b");
  EXPECT_EQ(calls[1]["function"]["arguments"], "{\"a\":56,\"b\":88}");
  EXPECT_EQ(second["messages"][2]["tool_call_id"], "call_a");
  EXPECT_EQ(Json::parse(second["messages"][2]["content"].get<std::string>()),
            (Json{{"result", 56}}));
  EXPECT_EQ(second["messages"][3]["tool_call_id"], "call_b");
  EXPECT_EQ(Json::parse(second["messages"][3]["content"].get<std::string>()),
            (Json{{"result", 4928}}));
}

TEST(OpenAiSession, InvalidArgumentsBecomeAnErrorResultForThatCallOnly) {
  FakeServer server;
  server.expect("POST", kPath, Reply{.body = synthetic("openai-invalid-arguments.json")});
  server.expect("POST", kPath, Reply{.body = synthetic("openai-text.json")});
  auto tools = std::make_unique<FakeTools>();
  auto* raw = tools.get();
  tools->add("echo", Json(), [](const Json& args) { return args; });
  Session session = make_session(openai_options(server), std::move(tools));
  EXPECT_EQ(session.ask("go"), "done");
  const Json second = server.received().at(1).json();
  const Json bad = Json::parse(second["messages"][2]["content"].get<std::string>());
  EXPECT_EQ(second["messages"][2]["tool_call_id"], "call_bad");
  EXPECT_EQ(bad["error"], "invalid arguments: arguments are not a JSON object: {\"x\": 1,");
  EXPECT_EQ(Json::parse(second["messages"][3]["content"].get<std::string>()), (Json{{"x", 2}}));
  EXPECT_EQ(raw->calls().size(), 1u);  // the broken call never reached a tool
}

TEST(OpenAiSession, GenerateJsonWithSchemaUsesStrictResponseFormat) {
  FakeServer server;
  const auto rec = load_fixture("openai/luna-thinking-GenSync-JSONSchema.yaml");
  server.expect("POST", kPath, rec.reply());
  auto options = openai_options(server);
  options.response_schema = Object{.properties = {{"is_fruit", Bool{.required = true}}}};
  auto ask = generate_json(options);
  EXPECT_EQ(ask("Is a banana a fruit?"), (Json{{"is_fruit", true}}));
  const Json sent = server.received().at(0).json();
  const Json& format = sent["response_format"];
  const Json recorded = rec.request_json()["response_format"];
  EXPECT_EQ(format["type"], "json_schema");
  EXPECT_EQ(format["json_schema"]["strict"], true);
  EXPECT_EQ(format["json_schema"]["schema"]["properties"],
            recorded["json_schema"]["schema"]["properties"]);
  EXPECT_EQ(format["json_schema"]["schema"]["required"],
            recorded["json_schema"]["schema"]["required"]);
  EXPECT_EQ(format["json_schema"]["schema"]["additionalProperties"], false);
}

TEST(OpenAiSession, SamplingParametersAreSentWhenSet) {
  FakeServer server;
  server.expect("POST", kPath, Reply{.body = synthetic("openai-text.json")});
  auto options = openai_options(server);
  options.temperature = 0.5;
  options.max_output_tokens = 100;
  options.thinking_level = "low";
  options.system = "Be brief.";
  Session session = make_session(options, nullptr);
  session.ask("hi");
  const Json sent = server.received().at(0).json();
  EXPECT_EQ(sent["temperature"], 0.5);
  EXPECT_EQ(sent["max_tokens"], 100);
  EXPECT_EQ(sent["reasoning_effort"], "low");
  EXPECT_EQ(sent["messages"][0], (Json{{"role", "system"}, {"content", "Be brief."}}));
}

TEST(OpenAiSession, BadApiKeyIsAProviderError) {
  FakeServer server;
  const auto rec = load_fixture("openai/error-bad-api-key.yaml");
  server.expect("POST", kPath, rec.reply());
  Session session = make_session(openai_options(server), nullptr);
  try {
    session.ask("hi");
    FAIL() << "no error";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.status(), 401);
    EXPECT_EQ(e.provider_code(), "invalid_api_key");
    EXPECT_EQ(std::string(e.what()).rfind("openai: HTTP 401 invalid_api_key: Incorrect API key", 0),
              0u)
        << e.what();
  }
  EXPECT_EQ(server.received().size(), 1u);
}

}  // namespace
}  // namespace polaris::test
