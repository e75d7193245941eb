// Unit tests of the MCP conversions: JSON Schema -> wire schema, names, results, SSE parsing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/sse.hpp"
#include "polaris/error.hpp"
#include "polaris/mcp.hpp"
#include "polaris/schema.hpp"
#include "polaris/tool.hpp"

namespace polaris::mcp {
namespace {

Json wire(const char* json_schema) { return json_schema_to_wire(Json::parse(json_schema)); }

TEST(McpSchema, ScalarsIncludingIntegerAndNestedRequired) {
  const Json out = wire(R"({"type":"object","properties":{
      "n":{"type":"integer","description":"count"},"x":{"type":"number"},"s":{"type":"string"},
      "b":{"type":"boolean"},
      "o":{"type":"object","properties":{"k":{"type":"string"},"v":{"type":"integer"}},"required":["k"]}},
    "required":["n","o","missing"],"additionalProperties":false})");
  EXPECT_EQ(out["type"], "OBJECT");
  EXPECT_EQ(out["properties"]["n"], (Json{{"type", "INTEGER"}, {"description", "count"}}));
  EXPECT_EQ(out["properties"]["x"]["type"], "NUMBER");
  EXPECT_EQ(out["properties"]["s"]["type"], "STRING");
  EXPECT_EQ(out["properties"]["b"]["type"], "BOOLEAN");
  EXPECT_EQ(out["properties"]["o"]["required"], Json::array({"k"}));
  EXPECT_EQ(out["properties"]["o"]["properties"]["v"]["type"], "INTEGER");
  EXPECT_EQ(out["required"], Json::array({"n", "o"}));  // unknown names dropped
  EXPECT_FALSE(out.contains("additionalProperties"));
  EXPECT_NO_THROW((void)Schema::from_json(out));
}

TEST(McpSchema, ArraysWithAndWithoutItems) {
  const Json out = wire(R"({"type":"object","properties":{
      "a":{"type":"array"},"b":{"type":"array","items":{"type":"integer"}},
      "c":{"type":"array","items":[{"type":"string"},{"type":"number"}]},
      "d":{"items":{"type":"object","properties":{"z":{"type":"boolean"}},"required":["z"]}}}})");
  EXPECT_EQ(out["properties"]["a"], (Json{{"type", "ARRAY"}}));
  EXPECT_EQ(out["properties"]["b"]["items"]["type"], "INTEGER");
  EXPECT_EQ(out["properties"]["c"]["items"]["type"], "STRING");
  EXPECT_EQ(out["properties"]["d"]["type"], "ARRAY");
  EXPECT_EQ(out["properties"]["d"]["items"]["required"], Json::array({"z"}));
}

TEST(McpSchema, EnumsConstAndNullable) {
  const Json out = wire(R"({"type":"object","properties":{
      "e":{"type":"string","enum":["a","b"]},"i":{"type":"integer","enum":[1,2]},
      "u":{"enum":["x","y",null]},"c":{"const":"only"},
      "n":{"type":["string","null"]},"m":{"anyOf":[{"type":"integer"},{"type":"null"}]}}})");
  EXPECT_EQ(out["properties"]["e"],
            (Json{{"type", "STRING"}, {"format", "enum"}, {"enum", {"a", "b"}}}));
  EXPECT_EQ(out["properties"]["i"]["enum"], Json::array({"1", "2"}));
  EXPECT_EQ(out["properties"]["u"]["type"], "STRING");
  EXPECT_EQ(out["properties"]["u"]["nullable"], true);
  EXPECT_EQ(out["properties"]["c"]["enum"], Json::array({"only"}));
  EXPECT_EQ(out["properties"]["n"], (Json{{"type", "STRING"}, {"nullable", true}}));
  EXPECT_EQ(out["properties"]["m"], (Json{{"type", "INTEGER"}, {"nullable", true}}));
}

TEST(McpSchema, DefsAndRefsIncludingCycles) {
  const Json out =
      wire(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
      "$defs":{"Point":{"type":"object","properties":{"x":{"type":"number"}},"required":["x"]},
               "Node":{"type":"object","properties":{"next":{"$ref":"#/$defs/Node"}}}},
      "definitions":{"Old":{"type":"integer"}},
      "properties":{"p":{"$ref":"#/$defs/Point"},"o":{"$ref":"#/definitions/Old"},
                    "list":{"$ref":"#/$defs/Node"},"bad":{"$ref":"#/nowhere"},
                    "remote":{"$ref":"https://example.com/s.json"}}})");
  EXPECT_EQ(out["properties"]["p"]["required"], Json::array({"x"}));
  EXPECT_EQ(out["properties"]["o"]["type"], "INTEGER");
  EXPECT_EQ(out["properties"]["list"]["type"], "OBJECT");
  EXPECT_EQ(out["properties"]["bad"], Json::object());
  EXPECT_EQ(out["properties"]["remote"], Json::object());
  EXPECT_NO_THROW((void)Schema::from_json(out));
}

TEST(McpSchema, OddSchemasNeverThrow) {
  for (const char* text :
       {"null", "true", "false", "42", "\"x\"", "[]", "{}", R"({"type":7})",
        R"({"type":["a","b"]})", R"({"properties":[]})",
        R"({"type":"object","properties":{"":{"type":"string"}}})",
        R"({"type":"object","required":"x"})", R"({"$ref":"#"})",
        R"({"$ref":"#/a/99999999999999999999"})",
        R"({"allOf":[{"properties":{"a":{"type":"string"}}},{"required":["a"]}]})",
        R"({"type":"array","items":true})", R"({"enum":[{"a":1}]})"}) {
    Json out;
    EXPECT_NO_THROW(out = json_schema_to_wire(Json::parse(text))) << text;
    EXPECT_NO_THROW((void)Schema::from_json(out.is_object() ? out : Json::object())) << text;
  }
}

TEST(McpSchema, WireToJsonSchema) {
  const Json out = wire_to_json_schema(Json::parse(R"({"type":"OBJECT","properties":{
      "op":{"type":"STRING","format":"enum","enum":["add","sub"]},"n":{"type":"INTEGER","format":"enum","enum":["1","2"]},
      "l":{"type":"ARRAY","items":{"type":"NUMBER"}}},"required":["op"]})"));
  EXPECT_EQ(out["type"], "object");
  EXPECT_EQ(out["properties"]["op"], (Json{{"type", "string"}, {"enum", {"add", "sub"}}}));
  EXPECT_EQ(out["properties"]["n"]["enum"], Json::array({1, 2}));
  EXPECT_EQ(out["properties"]["l"]["items"]["type"], "number");
  EXPECT_EQ(out["required"], Json::array({"op"}));
  EXPECT_EQ(wire_to_json_schema(nullptr), (Json{{"type", "object"}}));
}

TEST(McpNames, PrefixAndInvalidCharacters) {
  EXPECT_EQ(polaris_tool_name("", "get-sum"), "get-sum");
  EXPECT_EQ(polaris_tool_name("fs", "read.file/x"), "fs_read_file_x");
  EXPECT_EQ(polaris_tool_name("", "9lives"), "_9lives");
  EXPECT_EQ(polaris_tool_name("", std::string(100, 'a')).size(), 64U);
  for (const auto& name : {polaris_tool_name("p q", "ü"), polaris_tool_name("", "")}) {
    EXPECT_TRUE(is_valid_tool_name(name)) << name;
  }
}

TEST(McpResults, BothWays) {
  const Json call = Json::parse(
      R"({"content":[{"type":"text","text":"a"},{"type":"image","data":"AA==","mimeType":"image/png"},{"type":"text","text":"b"}],"structuredContent":{"x":1}})");
  const Json reply = reply_from_call_result(call);
  EXPECT_EQ(reply["results"], Json::array({"a", "b"}));
  EXPECT_EQ(reply["content"], call["content"]);
  EXPECT_EQ(reply["structuredContent"], (Json{{"x", 1}}));
  EXPECT_EQ(call_result_from_reply(reply)["content"], call["content"]);  // blocks pass through
  const Json plain = call_result_from_reply(Json{{"result", 3}});
  EXPECT_EQ(plain["content"][0]["text"], "{\"result\":3}");
  EXPECT_EQ(plain["structuredContent"], (Json{{"result", 3}}));
}

TEST(McpSse, IdsRetryAndSplits) {
  std::vector<http::SseEvent> events;
  long retry = 0;
  http::SseParser reader([&](const http::SseEvent& e) { events.push_back(e); },
                         [&](long ms) { retry = ms; });
  const std::string stream =
      "retry: 250\r\nid: s:1\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n: comment\nevent: x\ndata: y\n\n";
  for (char c : stream) reader.feed(std::string_view(&c, 1));
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(retry, 250);
  EXPECT_EQ(events[0].data, "{\"a\":\n1}");
  EXPECT_EQ(events[0].id, "s:1");
  EXPECT_EQ(events[1].event, "x");
  EXPECT_EQ(events[1].id, "s:1");  // the last event id persists
}

TEST(McpSse, AnEventOverTheLimitThrowsInsteadOfGrowing) {
  std::vector<http::SseEvent> events;
  http::SseParser reader([&](const http::SseEvent& e) { events.push_back(e); }, {}, 16);
  reader.feed("data: 0123456789\n\n");
  ASSERT_EQ(events.size(), 1U);
  reader.feed("data: 1234\ndata: 1234\n");  // the event holds 10 bytes, the line 10: 15 at most
  try {
    reader.feed("data: 1234\n");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::payload_too_large);
    EXPECT_STREQ(e.what(), "an SSE event is larger than the limit of 16 bytes");
  }
  EXPECT_EQ(events.size(), 1U);
}

}  // namespace
}  // namespace polaris::mcp

#include "mcp/notify.hpp"

namespace polaris::mcp {
namespace {

TEST(McpNotify, ToolMessagesBecomeNotifications) {
  const auto progress =
      detail::notification_from_tool_message(detail::progress_message(1, 4, "a quarter"), "tok");
  ASSERT_TRUE(progress);
  EXPECT_EQ((*progress)["method"], "notifications/progress");
  EXPECT_EQ(
      (*progress)["params"],
      (Json{
          {"progressToken", "tok"}, {"progress", 1.0}, {"total", 4.0}, {"message", "a quarter"}}));
  // No token: the client asked for no progress.
  EXPECT_FALSE(
      detail::notification_from_tool_message(detail::progress_message(1, {}, ""), nullptr));
  const auto log = detail::notification_from_tool_message(
      detail::log_message("warning", {{"x", 1}}, "tool"), nullptr);
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)["params"],
            (Json{{"level", "warning"}, {"data", {{"x", 1}}}, {"logger", "tool"}}));
  EXPECT_EQ((*detail::notification_from_tool_message(Json{{"log", {{"level", "loud"}}}},
                                                     7))["params"]["level"],
            "info");
  for (const auto& bad :
       {Json(), Json(3), Json::array(), Json{{"progress", "x"}}, Json{{"log", 1}}}) {
    EXPECT_FALSE(detail::notification_from_tool_message(bad, 1)) << bad.dump();
  }
}

}  // namespace
}  // namespace polaris::mcp
