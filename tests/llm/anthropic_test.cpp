// Anthropic Messages sessions against a local server replaying recorded and synthetic exchanges.
#include <gtest/gtest.h>

#include "fake_tools.hpp"
#include "fixtures.hpp"
#include "llm/anthropic.hpp"
#include "llm/session_impl.hpp"
#include "square_root.hpp"
#include "test_options.hpp"

namespace polaris::test {
namespace {

constexpr const char* kPath = "/v1/messages";

Reply sse(const std::string& file) {
  return Reply{.body = synthetic(file), .content_type = "text/event-stream"};
}

// The recorded second turn of a square_root exchange: what the client sent back.
void check_round_trip(const std::string& prefix, bool stream, const std::string& model) {
  const std::string kind = stream ? "GenStream" : "GenSync";
  const auto turn1 = load_fixture("anthropic/" + prefix + kind + "-Tools-SquareRoot-1" +
                                  (prefix == "haiku-" ? "" : "-any") + ".yaml");
  const auto turn2 = load_fixture("anthropic/" + prefix + kind + "-Tools-SquareRoot-2.yaml");
  ASSERT_EQ(turn1.target, kPath);
  FakeServer server;
  server.expect("POST", kPath, turn1.reply());
  server.expect("POST", kPath, turn2.reply());
  auto options = anthropic_options(server, stream);
  options.model = model;
  const bool thinking = prefix != "haiku-";
  if (thinking) {
    options.system = "Think step by step before answering.";
    options.thinking_budget = -1;
  }
  std::vector<FunctionCallEvent> events;
  options.on_function_call = [&](const FunctionCallEvent& e) { events.push_back(e); };
  Session session = make_session(options, square_root_tools());

  std::string answer;
  if (stream) {
    for (const auto& piece : session.send(kSquareRootPrompt)) answer += piece;
  } else {
    answer = session.ask(kSquareRootPrompt);
  }
  EXPECT_EQ(answer, "363.89");

  const auto got = server.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].header("x-api-key"), "sk-ant-test");
  EXPECT_EQ(got[0].header("anthropic-version"), "2023-06-01");
  const Json first = got[0].json();
  const Json recorded1 = turn1.request_json();
  EXPECT_EQ(first["model"], model);
  EXPECT_EQ(first["max_tokens"], llm::kAnthropicMaxTokens);
  EXPECT_EQ(first.contains("stream"), stream);
  EXPECT_EQ(first["messages"], recorded1["messages"]);
  EXPECT_FALSE(first.contains("temperature"));
  if (thinking) {
    EXPECT_EQ(first["system"], recorded1["system"]);
    EXPECT_EQ(first["thinking"], (Json{{"type", "adaptive"}}));
  } else {
    EXPECT_FALSE(first.contains("system"));
    EXPECT_FALSE(first.contains("thinking"));  // the model's default
  }
  const Json& tool = first["tools"][0];
  EXPECT_EQ(tool["name"], "square_root");
  EXPECT_EQ(tool["input_schema"]["type"], "object");
  EXPECT_EQ(tool["input_schema"]["properties"],
            recorded1["tools"][0]["input_schema"]["properties"]);
  EXPECT_EQ(tool["input_schema"]["required"], recorded1["tools"][0]["input_schema"]["required"]);
  EXPECT_EQ(first["tool_choice"], (Json{{"type", "auto"}}));

  // The assistant's tool_use goes back as the API recorded it (id, name, input, streamed input
  // joined); the tool_result answers that id with the tool's real result.
  const Json second = got[1].json();
  const Json recorded2 = turn2.request_json();
  ASSERT_EQ(second["messages"].size(), 3u);
  EXPECT_EQ(second["messages"][1], recorded2["messages"][1]);
  const Json& result = second["messages"][2];
  EXPECT_EQ(result["role"], "user");
  ASSERT_EQ(result["content"].size(), 1u);
  EXPECT_EQ(result["content"][0]["type"], "tool_result");
  EXPECT_EQ(result["content"][0]["tool_use_id"],
            recorded2["messages"][2]["content"][0]["tool_use_id"]);
  EXPECT_EQ(Json::parse(result["content"][0]["content"].get<std::string>()),
            (Json{{"response", "363.89"}}));
  EXPECT_FALSE(result["content"][0].contains("is_error"));

  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].arguments, (Json{{"number", 132413}}));
  EXPECT_TRUE(events[1].ok);
  EXPECT_EQ(session.usage().requests, 2);
}

TEST(AnthropicSession, SyncToolRoundTrip) {
  check_round_trip("haiku-", false, "claude-haiku-4-5-20251001");
}
TEST(AnthropicSession, StreamedToolRoundTripJoinsInputFragments) {
  check_round_trip("haiku-", true, "claude-haiku-4-5-20251001");
}
TEST(AnthropicSession, ThinkingModelSyncToolRoundTrip) {
  check_round_trip("sonnet-thinking-", false, "claude-sonnet-5");
}
TEST(AnthropicSession, ThinkingModelStreamedToolRoundTrip) {
  check_round_trip("sonnet-thinking-", true, "claude-sonnet-5");
}

TEST(AnthropicSession, SyncUsageCountsEveryRequest) {
  FakeServer server;
  server.expect("POST", kPath,
                load_fixture("anthropic/haiku-GenSync-Tools-SquareRoot-1.yaml").reply());
  server.expect("POST", kPath,
                load_fixture("anthropic/haiku-GenSync-Tools-SquareRoot-2.yaml").reply());
  Session session = make_session(anthropic_options(server), square_root_tools());
  EXPECT_EQ(session.ask(kSquareRootPrompt), "363.89");
  const Usage usage = session.usage();
  EXPECT_EQ(usage.input_tokens, 712 + 690);
  EXPECT_EQ(usage.output_tokens, 39 + 6);
  EXPECT_EQ(usage.total_tokens, 712 + 690 + 39 + 6);
}

std::unique_ptr<FakeTools> best_country_tools() {
  auto tools = std::make_unique<FakeTools>();
  tools->add("best_country",
             {{"type", "OBJECT"},
              {"properties", {{"country", {{"type", "STRING"}, {"enum", {"USA", "Canada"}}}}}},
              {"required", {"country"}}},
             [](const Json& args) {
               return Json{{"answer", args.at("country")}};
             });
  return tools;
}

constexpr const char* kToolBiasPrompt =
    "I wonder if the USA is a better country than Canada? Call the tool best_country to tell me "
    "which country is the best one.";

// A thinking block and its signature go back unchanged with the tool result: the API rejects
// the next request otherwise.
TEST(AnthropicSession, SyncThinkingBlockGoesBackWithItsSignature) {
  const auto turn1 = load_fixture("anthropic/sonnet-thinking-GenSync-Tools-ToolBias-USA.yaml");
  FakeServer server;
  server.expect("POST", kPath, turn1.reply());
  server.expect("POST", kPath, Reply{.body = synthetic("anthropic-text.json")});
  auto options = anthropic_options(server);
  options.model = "claude-sonnet-5";
  options.system = "Think step by step before answering.";
  options.thinking_budget = -1;
  Session session = make_session(options, best_country_tools());
  EXPECT_EQ(session.ask(kToolBiasPrompt), "done");  // thoughts are not answer text

  const auto got = server.received();
  ASSERT_EQ(got.size(), 2u);
  const Json first = got[0].json();
  const Json recorded = turn1.request_json();
  EXPECT_EQ(first["system"], recorded["system"]);
  EXPECT_EQ(first["thinking"], (Json{{"type", "adaptive"}}));
  EXPECT_EQ(first["messages"], recorded["messages"]);
  const Json answered = Json::parse(turn1.response_body);
  const Json assistant = got[1].json()["messages"][1];
  EXPECT_EQ(assistant["role"], "assistant");
  ASSERT_EQ(assistant["content"].size(), 2u);
  EXPECT_EQ(assistant["content"][0], answered["content"][0]);  // thinking, signature: unchanged
  EXPECT_EQ(assistant["content"][1], (Json{{"type", "tool_use"},
                                           {"id", "toolu_017vPyaqfx1gCWymk59QV27V"},
                                           {"name", "best_country"},
                                           {"input", {{"country", "USA"}}}}));
  EXPECT_EQ(session.usage().thinking_tokens, 93);
}

TEST(AnthropicSession, StreamedThinkingAndSignatureDeltasAreJoinedAndSentBack) {
  const auto turn1 = load_fixture("anthropic/sonnet-thinking-GenStream-Tools-ToolBias-USA.yaml");
  FakeServer server;
  server.expect("POST", kPath, turn1.reply());
  server.expect("POST", kPath, sse("anthropic-text.sse"));
  auto options = anthropic_options(server, true);
  options.model = "claude-sonnet-5";
  options.show_thoughts = true;
  Session session = make_session(options, best_country_tools());
  std::string text;
  session.send_text(kToolBiasPrompt, [&](std::string_view piece) {
    text += piece;
    return true;
  });
  // With show_thoughts the thinking streams too, before the text.
  const std::string thinking =
      "The user is asking me to use a tool to identify the \"best\" country, which is inherently "
      "subjective since there's no objective criteria for what makes a country \"best.\" Still, "
      "I'll call the tool as requested and make a selection, while acknowledging the "
      "subjectivity involved.";
  EXPECT_EQ(text.rfind(thinking + "This is a fun but ultimately subjective question", 0), 0u)
      << text;
  EXPECT_EQ(text.substr(text.size() - 4), "done");

  // The signature, streamed as one signature_delta, as the recording holds it.
  std::string signature;
  const std::string& body = turn1.response_body;
  const auto at = body.find("\"signature\":\"Ev");
  ASSERT_NE(at, std::string::npos);
  signature = body.substr(at + 13, body.find('"', at + 13) - (at + 13));

  const Json assistant = server.received().at(1).json()["messages"][1];
  ASSERT_EQ(assistant["content"].size(), 3u);
  EXPECT_EQ(assistant["content"][0],
            (Json{{"type", "thinking"}, {"thinking", thinking}, {"signature", signature}}));
  EXPECT_EQ(assistant["content"][1]["type"], "text");
  EXPECT_EQ(assistant["content"][2]["input"], (Json{{"country", "Canada"}}));
  const Json results = server.received().at(1).json()["messages"][2]["content"];
  EXPECT_EQ(results[0]["tool_use_id"], "toolu_01WyUXzyEy5i4JhMybbpvavx");
  EXPECT_EQ(Json::parse(results[0]["content"].get<std::string>()), (Json{{"answer", "Canada"}}));
}

void check_parallel(bool stream) {
  FakeServer server;
  if (stream) {
    server.expect("POST", kPath, sse("anthropic-two-calls.sse"));
    server.expect("POST", kPath, sse("anthropic-text.sse"));
  } else {
    server.expect("POST", kPath, Reply{.body = synthetic("anthropic-two-calls.json")});
    server.expect("POST", kPath, Reply{.body = synthetic("anthropic-text.json")});
  }
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
  Session session = make_session(anthropic_options(server, stream), std::move(tools));
  const std::string answer = session.ask("chain");
  EXPECT_EQ(answer, stream ? "done" : "Calling both.done");
  const Json second = server.received().at(1).json();
  const Json& blocks = second["messages"][1]["content"];
  const Json& calls = stream ? blocks : Json(Json::array({blocks[2], blocks[3]}));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], (Json{{"type", "tool_use"},
                            {"id", "toolu_a"},
                            {"name", "calculatorA"},
                            {"input", {{"a", 35}, {"b", 21}}}}));
  EXPECT_EQ(calls[1]["id"], "toolu_b");
  // Both results in one user message, in the model's order.
  ASSERT_EQ(second["messages"].size(), 3u);
  const Json& results = second["messages"][2]["content"];
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0]["tool_use_id"], "toolu_a");
  EXPECT_EQ(Json::parse(results[0]["content"].get<std::string>()), (Json{{"result", 56}}));
  EXPECT_EQ(results[1]["tool_use_id"], "toolu_b");
  EXPECT_EQ(Json::parse(results[1]["content"].get<std::string>()), (Json{{"result", 4928}}));
  if (!stream) {
    EXPECT_EQ(blocks[0], (Json{{"type", "thinking"},
                               {"thinking", "Two independent sums."},
                               {"signature", "c2lnLXR3bw=="}}));
    EXPECT_EQ(session.usage().input_tokens, 400 + 20);  // cache reads are input too
    EXPECT_EQ(session.usage().thinking_tokens, 30);
  }
}

TEST(AnthropicSession, SyncParallelToolUsesRunConcurrently) { check_parallel(false); }
TEST(AnthropicSession, StreamedParallelToolUsesRunConcurrently) { check_parallel(true); }

TEST(AnthropicSession, AFailedToolIsAnErrorResult) {
  FakeServer server;
  server.expect("POST", kPath, Reply{.body = synthetic("anthropic-two-calls.json")});
  server.expect("POST", kPath, Reply{.body = synthetic("anthropic-text.json")});
  auto tools = std::make_unique<FakeTools>();
  tools->add("calculatorA", Json(),
             [](const Json&) -> Json { throw Error(Errc::tool_failed, "disk on fire"); });
  Session session = make_session(anthropic_options(server), std::move(tools));
  session.ask("try");
  const Json results = server.received().at(1).json()["messages"][2]["content"];
  EXPECT_EQ(results[0], (Json{{"type", "tool_result"},
                              {"tool_use_id", "toolu_a"},
                              {"content", "disk on fire"},
                              {"is_error", true}}));
  EXPECT_EQ(results[1]["content"], "no such tool: calculatorB");
  EXPECT_EQ(results[1]["is_error"], true);
}

TEST(AnthropicSession, GenerateJsonWithSchemaUsesOutputFormat) {
  FakeServer server;
  const auto rec = load_fixture("anthropic/haiku-GenSync-JSONSchema.yaml");
  server.expect("POST", kPath, rec.reply());
  auto options = anthropic_options(server);
  options.model = "claude-haiku-4-5-20251001";
  options.response_schema = Object{.properties = {{"is_fruit", Bool{.required = true}}}};
  auto ask = generate_json(options);
  EXPECT_EQ(ask("Is a banana a fruit? Do not include an explanation. Reply ONLY as JSON."),
            (Json{{"is_fruit", true}}));
  const Json sent = server.received().at(0).json();
  const Json recorded = rec.request_json();
  EXPECT_EQ(sent["messages"], recorded["messages"]);
  const Json& format = sent["output_config"]["format"];
  const Json& want = recorded["output_config"]["format"];
  EXPECT_EQ(format["type"], "json_schema");
  EXPECT_EQ(format["schema"]["type"], want["schema"]["type"]);
  EXPECT_EQ(format["schema"]["properties"], want["schema"]["properties"]);
  EXPECT_EQ(format["schema"]["required"], want["schema"]["required"]);
  EXPECT_EQ(format["schema"]["additionalProperties"], false);
  EXPECT_FALSE(sent.contains("tools"));
  EXPECT_FALSE(sent.contains("stream"));
}

TEST(AnthropicSession, OptionsMapToTheApisFields) {
  FakeServer server;
  server.expect("POST", kPath, Reply{.body = synthetic("anthropic-text.json")});
  auto options = anthropic_options(server);
  options.temperature = 0.5;
  options.max_output_tokens = 100;
  options.thinking_budget = 2048;
  options.thinking_level = "low";
  options.system = "Be brief.";
  options.system_data = Blob{.mime_type = "text/plain", .data = "Facts."};
  Session session = make_session(options, nullptr);
  session.ask("hi");
  const Json sent = server.received().at(0).json();
  EXPECT_EQ(sent["temperature"], 0.5);
  EXPECT_EQ(sent["max_tokens"], 100);
  EXPECT_EQ(sent["thinking"], (Json{{"type", "enabled"}, {"budget_tokens", 2048}}));
  EXPECT_EQ(sent["output_config"], (Json{{"effort", "low"}}));
  EXPECT_EQ(sent["system"], Json::array({{{"type", "text"}, {"text", "Be brief.\n\nFacts."}}}));
}

TEST(AnthropicSession, BinarySystemDataIsRefused) {
  FakeServer server;
  auto options = anthropic_options(server);
  options.system_data = Blob{.mime_type = "image/png", .data = "x"};
  try {
    Session session = make_session(options, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_STREQ(
        e.what(),
        "anthropic: binary system instructions must have a text/* MIME type, not image/png");
  }
}

TEST(AnthropicSession, SecondSendContinuesTheConversation) {
  FakeServer server;
  server.expect("POST", kPath, Reply{.body = synthetic("anthropic-text.json")});
  server.expect("POST", kPath, Reply{.body = synthetic("anthropic-text.json")});
  Session session = make_session(anthropic_options(server), nullptr);
  EXPECT_EQ(session.ask("first"), "done");
  EXPECT_EQ(session.ask("second"), "done");
  const Json last = server.received().back().json();
  ASSERT_EQ(last["messages"].size(), 3u);
  EXPECT_EQ(last["messages"][1],
            (Json{{"role", "assistant"}, {"content", {{{"type", "text"}, {"text", "done"}}}}}));
  EXPECT_EQ(last["messages"][2]["content"][0]["text"], "second");
}

TEST(AnthropicSession, StoppingTheStreamDropsTheExchange) {
  FakeServer server;
  server.expect("POST", kPath, sse("anthropic-text.sse"));
  server.expect("POST", kPath, sse("anthropic-text.sse"));
  Session session = make_session(anthropic_options(server, true), nullptr);
  std::vector<std::string> pieces;
  session.send_text("count", [&](std::string_view text) {
    pieces.emplace_back(text);
    return false;
  });
  EXPECT_EQ(pieces, std::vector<std::string>{"do"});
  EXPECT_EQ(session.ask("again"), "done");
  EXPECT_EQ(server.received().back().json()["messages"].size(), 1u);
}

TEST(AnthropicSession, AStreamCutBeforeMessageStopIsAnError) {
  FakeServer server;
  server.expect("POST", kPath, sse("anthropic-cut.sse"));
  Session session = make_session(anthropic_options(server, true), nullptr);
  try {
    session.ask("hi");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::protocol);
    EXPECT_STREQ(e.what(), "anthropic: the stream ended before message_stop");
  }
}

TEST(AnthropicSession, AnErrorEventInTheStreamIsAProviderError) {
  FakeServer server;
  server.expect("POST", kPath, sse("anthropic-overloaded-in-stream.sse"));
  Session session = make_session(anthropic_options(server, true), nullptr);
  try {
    session.ask("hi");
    FAIL() << "no error";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.provider_code(), "overloaded_error");
    EXPECT_EQ(e.code(), Errc::connection_failed);
    EXPECT_STREQ(e.what(), "anthropic: error in stream: overloaded_error: Overloaded");
  }
}

TEST(AnthropicSession, ARefusalIsAClearError) {
  FakeServer server;
  server.expect("POST", kPath, Reply{.body = synthetic("anthropic-refusal.json")});
  Session session = make_session(anthropic_options(server), nullptr);
  try {
    session.ask("hi");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::protocol);
    EXPECT_STREQ(e.what(), "anthropic: the model refused to answer (stop_reason refusal)");
  }
}

TEST(AnthropicSession, BadApiKeyIsAProviderErrorNotRetried) {
  FakeServer server;
  server.expect("POST", kPath, load_fixture("anthropic/error-bad-api-key.yaml").reply());
  auto options = anthropic_options(server);
  options.retry.max_attempts = 3;
  Session session = make_session(options, nullptr);
  try {
    session.ask("Tell a short joke.");
    FAIL() << "no error";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.status(), 401);
    EXPECT_EQ(e.provider_code(), "authentication_error");
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_STREQ(e.what(), "anthropic: HTTP 401 authentication_error: invalid x-api-key");
  }
  EXPECT_EQ(server.received().size(), 1u);
}

TEST(AnthropicSession, UnknownModelIsANotFoundError) {
  FakeServer server;
  const auto rec = load_fixture("anthropic/error-bad-model.yaml", 1);
  ASSERT_EQ(rec.target, kPath);
  server.expect("POST", kPath, rec.reply());
  auto options = anthropic_options(server);
  options.model = "bad model";
  Session session = make_session(options, nullptr);
  try {
    session.ask("Tell a short joke.");
    FAIL() << "no error";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_EQ(e.provider_code(), "not_found_error");
    EXPECT_STREQ(e.what(), "anthropic: HTTP 404 not_found_error: model: bad model");
  }
  EXPECT_EQ(server.received().at(0).json()["model"], "bad model");
}

// 529 overloaded is retried, honouring retry-after, and the session then answers.
TEST(AnthropicSession, OverloadedIsRetriedThenAnswers) {
  FakeServer server;
  server.expect("POST", kPath,
                Reply{.status = 529,
                      .body = synthetic("anthropic-529.json"),
                      .headers = {{"retry-after", "0"}}});
  server.expect(
      "POST", kPath,
      Reply{.status = 429,
            .body = R"({"type":"error","error":{"type":"rate_limit_error","message":"slow"}})",
            .headers = {{"retry-after", "0"}}});
  server.expect("POST", kPath, Reply{.body = synthetic("anthropic-text.json")});
  auto options = anthropic_options(server);
  options.retry.max_attempts = 3;
  options.retry.max_backoff = std::chrono::seconds(60);  // only retry-after keeps this short
  Session session = make_session(options, nullptr);
  EXPECT_EQ(session.ask("hi"), "done");
  EXPECT_EQ(server.received().size(), 3u);
}

TEST(AnthropicSession, OverloadedUntilTheLastAttemptIsAProviderError) {
  FakeServer server;
  server.on("POST", kPath, [](const Received&) {
    return Reply{.status = 529, .body = synthetic("anthropic-529.json")};
  });
  auto options = anthropic_options(server);
  options.retry.max_attempts = 2;
  Session session = make_session(options, nullptr);
  try {
    session.ask("hi");
    FAIL() << "no error";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.status(), 529);
    EXPECT_EQ(e.provider_code(), "overloaded_error");
    EXPECT_EQ(e.code(), Errc::connection_failed);
  }
  EXPECT_EQ(server.received().size(), 2u);
}

}  // namespace
}  // namespace polaris::test
