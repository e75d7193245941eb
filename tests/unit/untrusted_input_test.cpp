// Regressions from fuzzing (docs/FUZZING.md): inputs from peers, MCP servers and model APIs that
// used to throw nlohmann exceptions (where callers are promised polaris::Error) or reach undefined
// behaviour (float-to-integer casts beyond the integers).
#include <gtest/gtest.h>

#include <memory>

#include "common/untrusted_json.hpp"
#include "http/http_client.hpp"
#include "llm/api_client.hpp"
#include "llm/gemini.hpp"
#include "llm/json_schema.hpp"
#include "llm/openai.hpp"
#include "mcp/client_transport.hpp"
#include "polaris/llm.hpp"
#include "polaris/mcp.hpp"
#include "schema/validate.hpp"

namespace polaris {
namespace {

Json parse(std::string_view text) { return Json::parse(text); }

const llm::TextCallback kKeepText = [](std::string_view) { return true; };

TEST(UntrustedInput, EnumCheckOfHugeNumbers) {
  const Schema level = IntEnum{.values = {1, 2}};
  // 1e300 is integral but no int64: it used to be cast (undefined behaviour).
  EXPECT_EQ(detail::validate_arguments(level, parse("1e300")).size(), 1U);
  EXPECT_EQ(detail::validate_arguments(level, parse("18446744073709551615")).size(), 1U);
  EXPECT_TRUE(detail::validate_arguments(level, parse("2.0")).empty());
  // Large integers keep every digit (they went through a double before).
  const Schema big = IntEnum{.values = {9007199254740993}};
  EXPECT_TRUE(detail::validate_arguments(big, parse("9007199254740993")).empty());
}

TEST(UntrustedInput, JsonSchemaTypeArrayAndOddFields) {
  // Tools may register JSON Schema spellings: a type array is no single type, not an exception.
  const Json wire = parse(R"({"type":"OBJECT","properties":{"x":{"type":["string","null"]}}})");
  const auto converted = llm::to_json_schema(wire);
  EXPECT_FALSE(converted.schema["properties"]["x"].contains("type"));
  EXPECT_EQ(check_against_schema(parse(R"({"x":null})"), parse(R"({"type":[1],"nullable":"y"})")),
            std::nullopt);
  EXPECT_EQ(check_against_schema(parse("null"), parse(R"({"type":"string","nullable":"yes"})")),
            "$: null where string is expected");
  // An integral float far beyond int64 is an integer, not undefined behaviour.
  EXPECT_EQ(check_against_schema(parse("1e300"), parse(R"({"type":"INTEGER"})")), std::nullopt);
  EXPECT_NE(check_against_schema(parse("1.5"), parse(R"({"type":"INTEGER"})")), std::nullopt);
}

TEST(UntrustedInput, GeminiAnswerWithOddShapes) {
  llm::GeminiAnswer answer("gemini", false);
  answer.absorb(parse(R"({"candidates":[{"content":{"parts":[
      {"text":"a","thought":"yes"}, {"text":"b"}, {"text":7}, {"functionCall":"x"},
      {"functionCall":{"name":5,"id":[],"args":{"n":1}}}]}}],
    "usageMetadata":{"promptTokenCount":1e300,"candidatesTokenCount":"9","totalTokenCount":-3,
                     "thoughtsTokenCount":18446744073709551615}})"),
                kKeepText);
  Usage usage;
  answer.fold_usage(usage);
  EXPECT_EQ(usage.input_tokens, 0);
  EXPECT_EQ(usage.output_tokens, 0);
  EXPECT_EQ(usage.total_tokens, 0);
  EXPECT_EQ(usage.thinking_tokens, std::int64_t{1} << 40);
  const auto calls = answer.calls();
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[0].name, "");
  EXPECT_EQ(calls[1].name, "");
  EXPECT_EQ(calls[1].arguments, parse(R"({"n":1})"));
  // "a" (thought "yes" is no thought) and "b" are joined; the odd parts stay as received.
  EXPECT_EQ(answer.parts()[0]["text"], "ab");
}

TEST(UntrustedInput, OpenAiAnswerWithOddShapes) {
  Usage usage;
  llm::OpenAiAnswer whole(false);
  whole.absorb_answer(parse(R"({"choices":[{"finish_reason":3,"message":{"content":"hi",
      "tool_calls":[5,{"function":"f"},{"id":1,"function":{"name":"sq","arguments":{"n":2}}}]}}],
      "usage":{"prompt_tokens":"1","completion_tokens":-1e300}})"),
                      kKeepText, usage);
  Json message;
  const auto calls = whole.finish(message);
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[1].name, "sq");
  EXPECT_EQ(calls[1].arguments, parse(R"({"n":2})"));
  EXPECT_EQ(usage.input_tokens, 0);

  llm::OpenAiAnswer streamed(false);
  streamed.absorb_chunk(parse(R"({"choices":[3]})"), kKeepText, usage);
  streamed.absorb_chunk(parse(R"({"choices":[{"delta":{"tool_calls":[7,
      {"index":1e300,"function":{"name":"a","arguments":"{}"}},
      {"index":"1","function":[]}]}}]})"),
                        kKeepText, usage);
  const auto streamed_calls = streamed.finish(message);
  ASSERT_EQ(streamed_calls.size(), 1U);
  EXPECT_EQ(streamed_calls[0].name, "a");
}

TEST(UntrustedInput, ProviderErrorBodies) {
  http::Response response;
  response.status = 429;
  response.body = R"({"error":{"details":[{"@type":7},
      {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1e300s"}]}})";
  EXPECT_EQ(llm::server_retry_delay(response), std::nullopt);
  response.body = R"({"error":{"details":[
      {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"nans"}]}})";
  EXPECT_EQ(llm::server_retry_delay(response), std::nullopt);
  response.body = R"({"error":{"details":[
      {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}})";
  EXPECT_EQ(llm::server_retry_delay(response), std::chrono::milliseconds(1500));
  // HTTP dates centuries away overflowed the clock's nanoseconds (found by llm_response_fuzz).
  response.body.clear();
  response.headers["retry-after"] = "Wed, 21 Oct 1007 07:28:00 GMT";
  EXPECT_EQ(llm::server_retry_delay(response), std::chrono::milliseconds(0));
  response.headers["retry-after"] = "Wed, 21 Oct 9999 07:28:00 GMT";
  EXPECT_GT(llm::server_retry_delay(response), std::chrono::hours(24 * 365));
  response.headers["retry-after"] = "120";
  EXPECT_EQ(llm::server_retry_delay(response), std::chrono::seconds(120));
}

TEST(UntrustedInput, McpCallResultWithOddBlocks) {
  const Json reply = mcp::reply_from_call_result(
      parse(R"({"content":[{"type":1,"text":"x"},{"type":"text","text":"y"}]})"));
  EXPECT_EQ(reply["results"], parse(R"(["y"])"));
}

TEST(UntrustedInput, McpSchemaWhoseRefsExplode) {
  // Each level refers to the next one three times: 3^16 nodes once expanded. It used to hang.
  const Json schema = parse(R"({"$defs":{
      "a":{"allOf":[{"$ref":"#/$defs/b"},{"$ref":"#/$defs/b"},{"$ref":"#/$defs/b"}]},
      "b":{"allOf":[{"$ref":"#/$defs/a"},{"$ref":"#/$defs/a"},{"$ref":"#/$defs/a"}]}},
    "type":"object","properties":{"x":{"$ref":"#/$defs/a"},"y":{"type":"string"}}})");
  const auto started = std::chrono::steady_clock::now();
  const Json wire = mcp::json_schema_to_wire(schema);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  // Past the budget, nodes are left untyped (any value), as the conversion does with what it
  // cannot understand.
  EXPECT_EQ(wire["type"], "OBJECT");
  EXPECT_TRUE(wire["properties"].contains("y"));
}

TEST(UntrustedInput, DeepNestingIsRefusedBeforeParsing) {
  // nlohmann copies and serialises recursively: a 1 MB "[[[[..." overflowed the stack.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_TRUE(detail::parse_untrusted_json(deep).is_discarded());
  const std::string fine = std::string(200, '[') + std::string(200, ']');
  EXPECT_FALSE(detail::parse_untrusted_json(fine).is_discarded());
  // Brackets inside strings (escaped quotes included) do not count.
  const std::string text = R"({"a":"[[[[\"[[[[","b":[1]})";
  EXPECT_FALSE(detail::nests_deeper_than(text, 2));
  EXPECT_TRUE(detail::nests_deeper_than(text, 1));
  EXPECT_EQ(detail::parse_untrusted_json(text)["b"], parse("[1]"));
  EXPECT_TRUE(detail::parse_untrusted_json("{").is_discarded());
}

// An MCP server in the same process: each request gets the next scripted messages, the last of
// which is the response (it gets the request's id).
class ScriptedServer final : public mcp::detail::ClientTransport {
 public:
  explicit ScriptedServer(std::vector<std::vector<Json>> script) : script_(std::move(script)) {}
  void start(OnMessage on_message, OnClosed /*on_closed*/) override {
    on_message_ = std::move(on_message);
  }
  void send(const Json& message, const std::function<bool()>& /*cancelled*/) override {
    if (!message.contains("method") || !message.contains("id")) return;
    auto messages =
        next_ < script_.size() ? script_[next_++] : std::vector<Json>{{{"result", Json::object()}}};
    messages.back()["id"] = message["id"];
    for (const auto& each : messages) on_message_(each, Json());
  }
  void close() noexcept override {}

 private:
  std::vector<std::vector<Json>> script_;
  std::size_t next_ = 0;
  OnMessage on_message_;
};

TEST(UntrustedInput, McpServerWithOddServerInfoAndLogLevels) {
  mcp::detail::set_transport_factory_for_testing([](const mcp::ServerAddress&) {
    return std::make_unique<ScriptedServer>(std::vector<std::vector<Json>>{
        {parse(R"({"result":{"protocolVersion":"2025-06-18","serverInfo":"odd"}})")},
        {parse(R"({"method":"notifications/message","params":{"level":3,"data":"x"}})"),
         parse(R"({"result":{"content":[]}})")}});
  });
  mcp::ClientOptions options;
  options.server.url = "scripted://";
  {
    mcp::Client client(options);  // used to throw type_error on serverInfo "odd"
    std::vector<std::string> seen;
    client.on_notification([&](const std::string& method, const Json&) { seen.push_back(method); });
    EXPECT_EQ(client.call_tool("t", Json::object()), parse(R"({"content":[]})"));
    // The log message with a numeric level used to be dropped by a type_error.
    EXPECT_EQ(seen, std::vector<std::string>{"notifications/message"});
  }
  mcp::detail::set_transport_factory_for_testing({});
}

}  // namespace
}  // namespace polaris
