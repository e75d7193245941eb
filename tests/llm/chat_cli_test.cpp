// `polaris chat` as a user runs it: the real program, a real registry and agent, and a local
// server replaying the model's side.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "fixtures.hpp"
#include "polaris/connection.hpp"
#include "polaris/registry.hpp"
#include "process/child_process.hpp"
#include "square_root.hpp"
#include "support/run_program.hpp"

namespace polaris::test {
namespace {

struct ChatRun {
  int status = -1;
  std::vector<std::string> lines;  // stdout and stderr, merged
  [[nodiscard]] bool has(const std::string& line) const {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  }
};

ChatRun run_polaris(std::vector<std::string> args, const FakeServer& model) {
  args.insert(args.begin(), POLARIS_CLI_PATH);
  detail::ChildProcess child(
      {.argv = args,
       .extra_env = {"GOOGLE_GEMINI_BASE_URL=" + model.url(), "GOOGLE_API_KEY=test-key",
                     "GOOGLE_GENAI_USE_VERTEXAI=false"},
       .on_line = {},
       .kept_lines = 200});
  ChatRun run;
  EXPECT_TRUE(child.wait_for_exit(std::chrono::seconds(20)));
  run.status = child.exit_status().value_or(-1);
  // The supervisor may still be draining output right after exit; stop() waits for it.
  child.stop();
  run.lines = child.last_lines();
  return run;
}

class ChatCommand : public testing::Test {
 protected:
  ChatCommand()
      : registry_(Registry::start({.bind = {.port = 0}})),
        agent_(connect({.servers = {registry_.client_url()}})) {}

  FakeServer model_;
  Registry registry_;
  Connection agent_;
};

TEST_F(ChatCommand, AnswersWithTheClustersToolsAndReportsCalls) {
  agent_.register_tool(square_root_tool());
  const auto turn1 = load_fixture("gemini/flash-thinking-GenStream-Tools-SquareRoot-1.yaml");
  const auto turn2 = load_fixture("gemini/flash-thinking-GenStream-Tools-SquareRoot-2.yaml");
  model_.expect("POST", turn1.target, turn1.reply());
  model_.expect("POST", turn2.target, turn2.reply());
  const ChatRun run = run_polaris({"chat", "--model", "gemini-flash-latest", "--server",
                                   registry_.client_url(), "What is the square root of 132413?"},
                                  model_);
  EXPECT_EQ(run.status, 0);
  EXPECT_TRUE(run.has("363.89")) << testing::PrintToString(run.lines);
  EXPECT_TRUE(run.has("-> square_root {\"number\":132413}")) << testing::PrintToString(run.lines);
}

TEST_F(ChatCommand, JsonWithSchemaFile) {
  const auto rec = load_fixture("gemini/flash-thinking-GenSync-JSONSchema.yaml");
  model_.expect("POST", "/v1beta/models/gemini-flash-latest:streamGenerateContent?alt=sse",
                Reply{.body = "data: " + Json::parse(rec.response_body).dump() + "\n\n",
                      .content_type = "text/event-stream"});
  const auto schema = std::filesystem::temp_directory_path() /
                      ("polaris-chat-schema-" + std::to_string(::getpid()) + ".json");
  std::ofstream(schema) << R"({"type":"OBJECT","properties":{"is_fruit":{"type":"BOOLEAN"}},
                              "required":["is_fruit"]})";
  const ChatRun run = run_polaris({"chat", "--model", "gemini-flash-latest", "--json", "--schema",
                                   schema.string(), "Is a banana a fruit?"},
                                  model_);
  std::filesystem::remove(schema);
  EXPECT_EQ(run.status, 0) << testing::PrintToString(run.lines);
  EXPECT_TRUE(run.has("  \"is_fruit\": true")) << testing::PrintToString(run.lines);
  const Json sent = model_.received().at(0).json();
  EXPECT_EQ(sent["generationConfig"]["responseSchema"]["properties"]["is_fruit"]["type"],
            "BOOLEAN");
}

TEST_F(ChatCommand, ProviderErrorExitsOneWithTheMessage) {
  const auto rec = load_fixture("gemini/error-bad-api-key.yaml");
  model_.expect("POST", "/v1beta/models/gemini-flash-latest:streamGenerateContent?alt=sse",
                rec.reply());
  const ChatRun run = run_polaris({"chat", "--model", "gemini-flash-latest", "--server",
                                   registry_.client_url(), "Tell a short joke."},
                                  model_);
  EXPECT_EQ(run.status, 1);
  EXPECT_TRUE(
      run.has("error: gemini: HTTP 400 INVALID_ARGUMENT: API key not valid. Please pass a "
              "valid API key."))
      << testing::PrintToString(run.lines);
}

// Without a prompt, chat reads prompts from stdin, one per line, in one conversation.
TEST_F(ChatCommand, PromptLoopContinuesTheConversation) {
  std::atomic<int> turn{0};  // the server answers on its own thread
  model_.on(
      "POST", "/v1beta/models/gemini-flash-latest:streamGenerateContent?alt=sse",
      [&turn](const Received&) {
        const int number = ++turn;
        const Json chunk = {
            {"candidates",
             {{{"content",
                {{"role", "model"}, {"parts", {{{"text", "answer " + std::to_string(number)}}}}}},
               {"finishReason", "STOP"}}}}};
        return Reply{.body = "data: " + chunk.dump() + "\n\n", .content_type = "text/event-stream"};
      });
  const auto result = run_program({POLARIS_CLI_PATH, "chat", "--model", "gemini-flash-latest",
                                   "--server", registry_.client_url()},
                                  {"GOOGLE_GEMINI_BASE_URL=" + model_.url(),
                                   "GOOGLE_API_KEY=test-key", "GOOGLE_GENAI_USE_VERTEXAI=false"},
                                  "first question\nsecond question\n");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("answer 1"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("answer 2"), std::string::npos) << result.out;
  const auto sent = model_.received();
  ASSERT_EQ(sent.size(), 2U);
  // The second request carries the first exchange: user, model, user.
  const Json contents = sent[1].json()["contents"];
  ASSERT_EQ(contents.size(), 3U) << contents.dump();
  EXPECT_EQ(contents[0]["parts"][0]["text"], "first question");
  EXPECT_EQ(contents[1]["parts"][0]["text"], "answer 1");
  EXPECT_EQ(contents[2]["parts"][0]["text"], "second question");
}

// `--tool NAME "prompt"`: one tool, and the prompt is the prompt (not a second tool name).
TEST_F(ChatCommand, ToolFlagTakesOneValueAndThePromptFollows) {
  agent_.register_tool(square_root_tool());
  agent_.register_tool({.name = "other",
                        .description = "not offered",
                        .handler = [](const Request&) { return Result(Json::object()); }});
  model_.on(
      "POST", "/v1beta/models/gemini-flash-latest:streamGenerateContent?alt=sse",
      [](const Received&) {
        const Json chunk = {{"candidates",
                             {{{"content", {{"role", "model"}, {"parts", {{{"text", "fine"}}}}}},
                               {"finishReason", "STOP"}}}}};
        return Reply{.body = "data: " + chunk.dump() + "\n\n", .content_type = "text/event-stream"};
      });
  const ChatRun run = run_polaris({"chat", "--model", "gemini-flash-latest", "--server",
                                   registry_.client_url(), "--tool", "square_root", "How are you?"},
                                  model_);
  EXPECT_EQ(run.status, 0) << testing::PrintToString(run.lines);
  EXPECT_TRUE(run.has("fine")) << testing::PrintToString(run.lines);
  const auto sent = model_.received();
  ASSERT_EQ(sent.size(), 1U);
  const Json request = sent[0].json();
  EXPECT_EQ(request["contents"][0]["parts"][0]["text"], "How are you?") << request.dump();
  const Json declarations = request["tools"][0]["functionDeclarations"];
  ASSERT_EQ(declarations.size(), 1U) << request.dump();
  EXPECT_EQ(declarations[0]["name"], "square_root");
}

TEST_F(ChatCommand, UnknownToolIsAnErrorListingTheTools) {
  agent_.register_tool(square_root_tool());
  const ChatRun run = run_polaris({"chat", "--server", registry_.client_url(), "--tool",
                                   "squareroot", "What is the square root of 4?"},
                                  model_);
  EXPECT_EQ(run.status, 1);
  EXPECT_TRUE(run.has("error: no such tool: squareroot (the cluster serves: square_root)"))
      << testing::PrintToString(run.lines);
  EXPECT_TRUE(model_.received().empty());
}

// Like every client command, chat exits 3 when no server can be reached.
TEST_F(ChatCommand, CannotConnectExitsThree) {
  const ChatRun run = run_polaris({"chat", "--server", "nats://127.0.0.1:1", "hello"}, model_);
  EXPECT_EQ(run.status, 3) << testing::PrintToString(run.lines);
  EXPECT_TRUE(
      run.has("error: cannot connect to nats://127.0.0.1:1: No server available for "
              "connection"))
      << testing::PrintToString(run.lines);
}

// --provider anthropic: key and endpoint from ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL, the
// recorded streamed exchange replayed, the tool served by a real agent.
TEST_F(ChatCommand, AnthropicProviderAnswersWithTheClustersTools) {
  agent_.register_tool(square_root_tool());
  const auto turn1 = load_fixture("anthropic/haiku-GenStream-Tools-SquareRoot-1.yaml");
  const auto turn2 = load_fixture("anthropic/haiku-GenStream-Tools-SquareRoot-2.yaml");
  model_.expect("POST", "/v1/messages", turn1.reply());
  model_.expect("POST", "/v1/messages", turn2.reply());
  const auto result = run_program(
      {"/usr/bin/env", "ANTHROPIC_API_KEY=sk-ant-test", "ANTHROPIC_BASE_URL=" + model_.url(),
       POLARIS_CLI_PATH, "chat", "--provider", "anthropic", "--model", "claude-haiku-4-5-20251001",
       "--server", registry_.client_url(), kSquareRootPrompt});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "363.89\n");
  EXPECT_NE(result.err.find("-> square_root {\"number\":132413}"), std::string::npos) << result.err;
  const auto got = model_.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].header("x-api-key"), "sk-ant-test");
  EXPECT_EQ(got[1].json()["messages"][1], turn2.request_json()["messages"][1]);
}

// Without OPENAI_API_KEY nothing is sent to OpenAI's endpoint; the error names the variable.
TEST_F(ChatCommand, OpenAiWithoutAKeyIsRefusedUpFront) {
  const auto result = run_program({"/usr/bin/env", "-u", "OPENAI_API_KEY", "-u", "OPENAI_BASE_URL",
                                   POLARIS_CLI_PATH, "chat", "--provider", "openai", "--server",
                                   registry_.client_url(), "hello"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "error: openai: no API key (set OPENAI_API_KEY; a local server given with "
            "OPENAI_BASE_URL, such as Ollama or llama.cpp, needs none)\n");
}

// No provider configured at all: the error names every provider's variables.
TEST_F(ChatCommand, NoProviderNamesEveryProvidersVariables) {
  std::vector<std::string> argv = {"/usr/bin/env"};
  for (const char* name : {"GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI",
                           "GOOGLE_CLOUD_PROJECT", "GOOGLE_APPLICATION_CREDENTIALS",
                           "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY"}) {
    argv.insert(argv.end(), {"-u", name});
  }
  argv.insert(argv.end(), {POLARIS_CLI_PATH, "chat", "--server", registry_.client_url(), "hello"});
  const auto result = run_program(argv);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  for (const char* name : {"GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_CLOUD_PROJECT",
                           "GOOGLE_APPLICATION_CREDENTIALS", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                           "ANTHROPIC_API_KEY"}) {
    EXPECT_NE(result.err.find(name), std::string::npos) << name << ": " << result.err;
  }
}

}  // namespace
}  // namespace polaris::test
