// The official MCP conformance suite (server scenarios) against polaris::mcp::Server, with an agent
// that registers the suite's fixture tools.
#include <gtest/gtest.h>

#include "mcp_support.hpp"
#include "polaris/mcp.hpp"
#include "polaris/polaris.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"

namespace polaris::test {
namespace {

constexpr const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+"
    "M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
constexpr const char* kWav = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";

Tool fixture(const std::string& name, Json content) {
  return {.name = name,
          .description = "conformance fixture " + name,
          .handler = [content](const Request&) -> Result {
            return {{"content", content}};
          }};
}

TEST(McpConformance, ServerScenarios) {
  auto registry = Registry::start({.bind = {.port = 0}});
  auto agent = connect({.servers = {registry.client_url()}});
  const Json text = {{"type", "text"}, {"text", "This is a simple text response for testing."}};
  const Json image = {{"type", "image"}, {"data", kPng}, {"mimeType", "image/png"}};
  const Json resource = {{"type", "resource"},
                         {"resource",
                          {{"uri", "test://embedded-resource"},
                           {"mimeType", "text/plain"},
                           {"text", "This is an embedded resource content."}}}};
  agent.register_tool(fixture("test_simple_text", Json::array({text})));
  agent.register_tool(fixture("test_image_content", Json::array({image})));
  agent.register_tool(
      fixture("test_audio_content",
              Json::array({{{"type", "audio"}, {"data", kWav}, {"mimeType", "audio/wav"}}})));
  agent.register_tool(fixture("test_embedded_resource", Json::array({resource})));
  agent.register_tool(fixture("test_multiple_content_types", Json::array({text, image, resource})));
  agent.register_tool({.name = "test_tool_with_logging",
                       .description = "logs three messages while it runs",
                       .handler = [text](const Request& request) -> Result {
                         request.log("info", "Tool execution started");
                         request.log("info", "Tool processing data");
                         request.log("info", "Tool execution completed");
                         return {{"content", Json::array({text})}};
                       }});
  agent.register_tool({.name = "test_tool_with_progress",
                       .description = "reports progress 0, 50, 100",
                       .handler = [text](const Request& request) -> Result {
                         for (double done : {0.0, 50.0, 100.0}) request.progress(done, 100.0);
                         return {{"content", Json::array({text})}};
                       }});
  agent.register_tool({.name = "test_error_handling",
                       .description = "always fails",
                       .handler = [](const Request&) -> Result {
                         return error("This tool intentionally returns an error for testing");
                       }});
  // A declaration with the original JSON Schema, registered on the wire (see docs/PROTOCOL.md,
  // MCP).
  RawNats raw(registry.client_url());
  const Json declaration = {
      {"name", "json_schema_2020_12_tool"},
      {"description", "Tool with JSON Schema 2020-12 features"},
      {"parameters", {{"type", "OBJECT"}}},
      {mcp::kJsonSchemaField,
       Json::parse(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
          "$defs":{"address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"}}}},
          "properties":{"name":{"type":"string"},"address":{"$ref":"#/$defs/address"}},
          "additionalProperties":false})")}};
  ASSERT_NE(raw.request("polaris:tool:register", declaration.dump()).find("true"),
            std::string::npos);

  auto client = connect({.servers = {registry.client_url()}});
  mcp::Server server(client, {});
  server.listen("127.0.0.1", 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/mcp";
  // The active suite, then scenarios outside it that the issue requires.
  expect_server_conformance(url, {"json-schema-2020-12"});
}

TEST(McpConformance, ClientScenarios) {
  const std::string suite = mcp_package("conformance") + "/dist/index.js";
  for (const char* scenario : {"initialize", "tools_call", "sse-retry"}) {
    const auto run =
        run_program({peers_node(), suite, "client", "--command", POLARIS_MCP_CONFORMANCE_CLIENT,
                     "--scenario", scenario, "--timeout", "20000"});
    EXPECT_EQ(run.exit_code, 0) << scenario << ": " << run.out << run.err;
  }
}

}  // namespace
}  // namespace polaris::test
