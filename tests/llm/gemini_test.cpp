// Gemini API sessions against a local server replaying recorded and synthetic exchanges.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <ranges>

#include "fake_tools.hpp"
#include "fixtures.hpp"
#include "llm/session_impl.hpp"
#include "square_root.hpp"
#include "test_options.hpp"

namespace polaris::test {
namespace {

// send() gives a real input range: range-for and std::ranges algorithms work on it.
static_assert(std::ranges::input_range<TextStream>);

constexpr const char* kGenerate = "/v1beta/models/gemini-flash-latest:generateContent";
constexpr const char* kStream = "/v1beta/models/gemini-flash-latest:streamGenerateContent?alt=sse";

// The model's turn as the second recorded request carries it back.
const Json& model_turn(const Json& request) { return request.at("contents").at(1); }

TEST(GeminiSession, SyncToolRoundTripEchoesCallIdAndThoughtSignature) {
  FakeServer server;
  const auto turn1 = load_fixture("gemini/flash-thinking-GenSync-Tools-SquareRoot-1.yaml");
  const auto turn2 = load_fixture("gemini/flash-thinking-GenSync-Tools-SquareRoot-2.yaml");
  server.expect("POST", turn1.target, turn1.reply());
  server.expect("POST", turn2.target, turn2.reply());
  std::vector<FunctionCallEvent> events;
  auto options = gemini_options(server);
  options.on_function_call = [&](const FunctionCallEvent& e) { events.push_back(e); };
  Session session = make_session(options, square_root_tools());

  EXPECT_EQ(session.ask(kSquareRootPrompt), "363.89");

  const auto got = server.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].target, kGenerate);
  EXPECT_EQ(got[0].header("x-goog-api-key"), "test-key");
  const Json first = got[0].json();
  EXPECT_EQ(first["contents"], turn1.request_json()["contents"]);
  EXPECT_EQ(first["tools"][0]["functionDeclarations"][0]["name"], "square_root");
  EXPECT_EQ(first["generationConfig"]["temperature"], 0.2);
  EXPECT_EQ(first["generationConfig"]["topP"], 0.95);
  EXPECT_EQ(first["generationConfig"]["maxOutputTokens"], 8192);

  // The model's parts go back exactly as received (thought text, id and signature); the
  // function response carries the call's id and the tool's real answer.
  const Json second = got[1].json();
  const Json recorded = turn2.request_json();
  EXPECT_EQ(model_turn(second), model_turn(recorded));
  EXPECT_EQ(second["contents"][2], recorded["contents"][2]);

  ASSERT_EQ(events.size(), 2u);
  EXPECT_FALSE(events[0].finished);
  EXPECT_EQ(events[0].name, "square_root");
  EXPECT_EQ(events[0].arguments, (Json{{"number", 132413}}));
  EXPECT_TRUE(events[1].finished);
  EXPECT_TRUE(events[1].ok);
  EXPECT_EQ(events[1].result, (Json{{"response", "363.89"}}));

  const Usage usage = session.usage();
  EXPECT_EQ(usage.requests, 2);
  EXPECT_EQ(usage.input_tokens, 104 + 371);
  EXPECT_EQ(usage.thinking_tokens, 87);
}

TEST(GeminiSession, StreamedToolRoundTripThroughTheRange) {
  FakeServer server;
  const auto turn1 = load_fixture("gemini/flash-thinking-GenStream-Tools-SquareRoot-1.yaml");
  const auto turn2 = load_fixture("gemini/flash-thinking-GenStream-Tools-SquareRoot-2.yaml");
  ASSERT_EQ(turn1.target, kStream);
  server.expect("POST", turn1.target, turn1.reply());
  server.expect("POST", turn2.target, turn2.reply());
  Session session = make_session(gemini_options(server, true), square_root_tools());

  std::string answer;
  for (const auto& piece : session.send(kSquareRootPrompt)) answer += piece;
  EXPECT_EQ(answer, "363.89");

  const auto got = server.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].target, kStream);
  const Json second = got[1].json();
  const Json recorded = turn2.request_json();
  // The streamed call part comes back with its signature and id, and the response with the id.
  const Json& part = model_turn(second)["parts"][0];
  EXPECT_EQ(part["thoughtSignature"], model_turn(recorded)["parts"][0]["thoughtSignature"]);
  EXPECT_EQ(part["functionCall"], model_turn(recorded)["parts"][0]["functionCall"]);
  EXPECT_EQ(second["contents"][2], recorded["contents"][2]);
}

TEST(GeminiSession, StreamDeliversPiecesAsTheyArriveAndStopsEarly) {
  FakeServer server;
  Reply reply{.content_type = "text/event-stream"};
  for (const char* word : {"one ", "two ", "three"}) {
    reply.chunks.push_back(std::string("data: {\"candidates\":[{\"content\":{\"role\":\"model\","
                                       "\"parts\":[{\"text\":\"") +
                           word + "\"}]}}]}\r\n\r\n");
  }
  server.expect("POST", kStream, reply);
  server.expect(
      "POST", kStream,
      Reply{.body = "data: " + Json::parse(synthetic("gemini-text.json")).dump() + "\r\n\r\n",
            .content_type = "text/event-stream"});
  Session session = make_session(gemini_options(server, true), nullptr);

  std::vector<std::string> pieces;
  session.send_text("count", [&](std::string_view text) {
    pieces.emplace_back(text);
    return false;  // stop after the first piece
  });
  EXPECT_EQ(pieces, std::vector<std::string>{"one "});

  // A stopped send is dropped from the conversation: the next one starts afresh.
  EXPECT_EQ(session.ask("again"), "done");
  const Json last = server.received().back().json();
  ASSERT_EQ(last["contents"].size(), 1u);
  EXPECT_EQ(last["contents"][0]["parts"][0]["text"], "again");
}

TEST(GeminiSession, BreakingOutOfTheRangeStopsTheModel) {
  FakeServer server;
  Reply reply{.content_type = "text/event-stream"};
  for (int i = 0; i < 50; ++i) {
    reply.chunks.push_back(
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":"
        "[{\"text\":\"piece \"}]}}]}\n\n");
  }
  server.expect("POST", kStream, reply);
  server.expect("POST", kStream,
                Reply{.body = "data: " + Json::parse(synthetic("gemini-text.json")).dump() + "\n\n",
                      .content_type = "text/event-stream"});
  Session session = make_session(gemini_options(server, true), nullptr);
  int seen = 0;
  {
    auto stream = session.send("go on forever");
    for (const auto& piece : stream) {
      EXPECT_EQ(piece, "piece ");
      if (++seen == 2) break;
    }
  }  // the stream's destructor stops the transfer and joins its worker
  EXPECT_EQ(seen, 2);
  std::string answer;
  for (const auto& piece : session.send("next")) answer += piece;
  EXPECT_EQ(answer, "done");
  EXPECT_EQ(server.received().back().json()["contents"].size(), 1u);
}

TEST(GeminiSession, RangeRethrowsTheSessionsError) {
  FakeServer server;
  server.expect("POST", kStream, Reply{.status = 400, .body = synthetic("gemini-503.json")});
  Session session = make_session(gemini_options(server, true), nullptr);
  auto stream = session.send("hi");
  EXPECT_THROW(
      {
        for (const auto& piece : stream) (void)piece;
      },
      ProviderError);
}

TEST(GeminiSession, SecondSendContinuesTheConversation) {
  FakeServer server;
  server.expect("POST", kGenerate, Reply{.body = synthetic("gemini-text.json")});
  server.expect("POST", kGenerate, Reply{.body = synthetic("gemini-text.json")});
  auto options = gemini_options(server);
  options.system = "Answer briefly.";
  Session session = make_session(options, nullptr);
  EXPECT_EQ(session.ask("first"), "done");
  EXPECT_EQ(session.ask("second"), "done");
  const Json last = server.received().back().json();
  ASSERT_EQ(last["contents"].size(), 3u);
  EXPECT_EQ(last["contents"][1], (Json{{"role", "model"}, {"parts", {{{"text", "done"}}}}}));
  EXPECT_EQ(last["contents"][2]["parts"][0]["text"], "second");
  EXPECT_EQ(last["systemInstruction"]["parts"][0]["text"], "Answer briefly.");
}

TEST(GeminiSession, ParallelCallsRunConcurrentlyAndReturnInTheModelsOrder) {
  FakeServer server;
  server.expect("POST", kGenerate, Reply{.body = synthetic("gemini-two-calls.json")});
  server.expect("POST", kGenerate, Reply{.body = synthetic("gemini-two-calls-answer.json")});
  auto tools = std::make_unique<FakeTools>();
  Rendezvous both(2);
  const Json params = {{"type", "OBJECT"},
                       {"properties", {{"a", {{"type", "NUMBER"}}}, {"b", {{"type", "NUMBER"}}}}}};
  tools->add("calculatorA", params, [&](const Json& args) {
    if (!both.arrive_and_wait()) throw Error(Errc::tool_failed, "calls did not overlap");
    return Json{{"result", args["a"].get<double>() + args["b"].get<double>()}};
  });
  tools->add("calculatorB", params, [&](const Json& args) {
    if (!both.arrive_and_wait()) throw Error(Errc::tool_failed, "calls did not overlap");
    return Json{{"result", args["a"].get<double>() * args["b"].get<double>()}};
  });
  Session session = make_session(gemini_options(server), std::move(tools));

  EXPECT_EQ(session.ask("chain them"), "56 and 4928");
  const Json second = server.received().at(1).json();
  const Json& model = second["contents"][1];
  EXPECT_EQ(model["parts"][0]["thoughtSignature"], "c2lnLUE=");
  const Json& responses = second["contents"][2]["parts"];
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0]["functionResponse"],
            (Json{{"id", "call-a"}, {"name", "calculatorA"}, {"response", {{"result", 56.0}}}}));
  EXPECT_EQ(responses[1]["functionResponse"],
            (Json{{"id", "call-b"}, {"name", "calculatorB"}, {"response", {{"result", 4928.0}}}}));
}

TEST(GeminiSession, ToolErrorAndMissingToolReachTheModel) {
  FakeServer server;
  server.expect("POST", kGenerate, Reply{.body = synthetic("gemini-one-call.json")});
  server.expect("POST", kGenerate, Reply{.body = synthetic("gemini-text.json")});
  auto tools = std::make_unique<FakeTools>();
  tools->add("flaky", Json(),
             [](const Json&) -> Json { throw Error(Errc::tool_failed, "disk on fire"); });
  Session session = make_session(gemini_options(server), std::move(tools));
  EXPECT_EQ(session.ask("try"), "done");
  const Json parts = server.received().at(1).json()["contents"][2]["parts"];
  EXPECT_EQ(parts[0]["functionResponse"]["response"], (Json{{"error", "disk on fire"}}));
  EXPECT_EQ(parts[1]["functionResponse"]["response"], (Json{{"error", "no such tool: gone"}}));
}

TEST(GeminiSession, DefaultArgumentsFillWhatTheModelLeftOut) {
  FakeServer server;
  server.expect("POST", kGenerate, Reply{.body = synthetic("gemini-one-call.json")});
  server.expect("POST", kGenerate, Reply{.body = synthetic("gemini-text.json")});
  auto tools = std::make_unique<FakeTools>();
  auto* raw = tools.get();
  tools->add("flaky", Json(), [](const Json& args) { return args; });
  tools->add("gone", Json(), [](const Json& args) { return args; });
  auto options = gemini_options(server);
  options.default_arguments = {{"x", 99}, {"user", "ann"}};
  Session session = make_session(options, std::move(tools));
  session.ask("try");
  auto calls = raw->calls();
  std::sort(calls.begin(), calls.end(), [](auto& l, auto& r) { return l.first < r.first; });
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].second, (Json{{"x", 1}, {"user", "ann"}}));  // flaky: the model's x wins
  EXPECT_EQ(calls[1].second, (Json{{"x", 99}, {"user", "ann"}}));
}

TEST(GeminiSession, AllowListAndOwnToolsFilterTheDeclarations) {
  FakeServer server;
  server.expect("POST", kGenerate, Reply{.body = synthetic("gemini-text.json")});
  auto tools = std::make_unique<FakeTools>();
  for (const char* name : {"a", "b", "mine"})
    tools->add(name, Json(), [](const Json& j) { return j; });
  tools->local_ = {"mine"};
  auto options = gemini_options(server);
  options.allowed_tools = {"b", "mine"};
  Session session = make_session(options, std::move(tools));
  session.ask("hi");
  const Json decls = server.received().at(0).json()["tools"][0]["functionDeclarations"];
  ASSERT_EQ(decls.size(), 1u);
  EXPECT_EQ(decls[0]["name"], "b");
}

struct BadFinish {
  const char* file;
  const char* message;
};

class GeminiBadFinish : public testing::TestWithParam<BadFinish> {};

TEST_P(GeminiBadFinish, EndsWithAClearError) {
  FakeServer server;
  server.expect("POST", kGenerate, Reply{.body = synthetic(GetParam().file)});
  server.expect("POST", kGenerate, Reply{.body = synthetic("gemini-text.json")});
  Session session = make_session(gemini_options(server), std::make_unique<FakeTools>());
  try {
    session.ask("hi");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::protocol);
    EXPECT_EQ(std::string(e.what()), GetParam().message);
  }
  // The failed exchange is not kept: the next send starts from a clean conversation.
  EXPECT_EQ(session.ask("again"), "done");
  EXPECT_EQ(server.received().back().json()["contents"].size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Finishes, GeminiBadFinish,
    testing::Values(
        BadFinish{"gemini-safety.json", "gemini: the model stopped its answer: SAFETY"},
        BadFinish{"gemini-malformed.json",
                  "gemini: the model produced a malformed function call (MALFORMED_FUNCTION_CALL)"},
        BadFinish{"gemini-blocked.json", "gemini: the prompt was blocked: PROHIBITED_CONTENT"}));

TEST(GeminiSession, TooManyTurnsIsAnError) {
  FakeServer server;
  server.on("POST", kGenerate,
            [](const Received&) { return Reply{.body = synthetic("gemini-loop.json")}; });
  auto tools = std::make_unique<FakeTools>();
  tools->add("echo", Json(), [](const Json& j) { return j; });
  auto options = gemini_options(server);
  options.max_turns = 3;
  Session session = make_session(options, std::move(tools));
  try {
    session.ask("loop");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::protocol);
    EXPECT_STREQ(e.what(), "the model was still calling functions after 3 turns");
  }
  EXPECT_EQ(server.received().size(), 3u);
}

TEST(GeminiSession, GenerateJsonWithSchema) {
  FakeServer server;
  const auto rec = load_fixture("gemini/flash-thinking-GenSync-JSONSchema.yaml");
  server.expect("POST", rec.target, rec.reply());
  auto options = gemini_options(server);
  options.response_schema = Object{.properties = {{"is_fruit", Bool{.required = true}}}};
  auto ask = generate_json(options);
  const Json answer =
      ask("Is a banana a fruit? Do not include an explanation. Reply ONLY as JSON.");
  EXPECT_EQ(answer, (Json{{"is_fruit", true}}));
  const Json sent = server.received().at(0).json();
  EXPECT_EQ(sent["generationConfig"]["responseMimeType"], "application/json");
  EXPECT_EQ(sent["generationConfig"]["responseSchema"]["properties"]["is_fruit"]["type"],
            "BOOLEAN");
  EXPECT_EQ(sent["generationConfig"]["responseSchema"]["required"], Json::array({"is_fruit"}));
  EXPECT_FALSE(sent.contains("tools"));
}

TEST(GeminiSession, GenerateJsonRejectsAnAnswerOutsideTheSchema) {
  FakeServer server;
  server.expect("POST", kGenerate, Reply{.body = R"({"candidates":[{"content":{"role":"model",
      "parts":[{"text":"{\"is_fruit\": \"maybe\"}"}]},"finishReason":"STOP"}]})"});
  auto options = gemini_options(server);
  options.response_schema = Object{.properties = {{"is_fruit", Bool{.required = true}}}};
  auto ask = generate_json(options);
  try {
    ask("banana?");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "the model's answer does not match the schema: $.is_fruit: string where boolean "
                 "is expected");
  }
}

TEST(GeminiSession, ProviderErrorsCarryStatusAndCode) {
  FakeServer server;
  const auto rec = load_fixture("gemini/error-bad-api-key.yaml");
  server.expect("POST", "/v1beta/models/gemini-2.0-flash-lite:generateContent", rec.reply());
  auto options = gemini_options(server);
  options.model = "gemini-2.0-flash-lite";
  Session session = make_session(options, nullptr);
  try {
    session.ask("Tell a short joke.");
    FAIL() << "no error";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.provider_code(), "INVALID_ARGUMENT");
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_STREQ(
        e.what(),
        "gemini: HTTP 400 INVALID_ARGUMENT: API key not valid. Please pass a valid API key.");
  }
  EXPECT_EQ(server.received().size(), 1u);  // a 400 is never retried
}

TEST(GeminiSession, UnknownModelIsANotRetried404) {
  FakeServer server;
  const auto rec = load_fixture("gemini/error-response.yaml");
  server.expect("POST", rec.target, rec.reply());
  auto options = gemini_options(server);
  options.model = "gemini-exp-1206";
  options.retry.max_attempts = 4;
  Session session = make_session(options, nullptr);
  try {
    session.ask("Say hello.");
    FAIL() << "no error";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_EQ(e.provider_code(), "NOT_FOUND");
  }
  EXPECT_EQ(server.received().size(), 1u);
}

TEST(GeminiSession, ModelNamesArePercentEncoded) {
  FakeServer server;
  const auto rec = load_fixture("gemini/error-bad-model.yaml");
  ASSERT_EQ(rec.target, "/v1beta/models/bad%20model:generateContent");
  server.expect("POST", rec.target, rec.reply());
  auto options = gemini_options(server);
  options.model = "bad model";
  Session session = make_session(options, nullptr);
  EXPECT_THROW(session.ask("Tell a short joke."), ProviderError);
  EXPECT_EQ(server.pending(), 0u);
}

}  // namespace
}  // namespace polaris::test
