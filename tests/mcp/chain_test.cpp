// `polaris mcp import` as a process, in front of an MCP server that is not ours (the fixture
// server on the official TypeScript SDK): the conformance suite through the whole chain, the
// environment the server is started with, and the timeout its tools declare.
#include <gtest/gtest.h>

#include <chrono>

#include "mcp_support.hpp"
#include "polaris/error.hpp"
#include "polaris/polaris.hpp"
#include "support/cluster.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"
#include "support/wait.hpp"

namespace polaris::test {
namespace {

using namespace std::chrono_literals;

// The --stdio command line of the fixture server (paths without spaces or quotes).
std::string fixture_stdio() {
  std::string line;
  for (const auto& word : fixture_server_command()) line += (line.empty() ? "" : " ") + word;
  return line;
}

// Waits until `connection` can list `name` (the import registered it).
void await_tool(Connection& connection, const std::string& name, PolarisProcess& importer) {
  const bool listed = wait_until(
      [&] {
        for (const auto& tool : connection.list_tools()) {
          if (tool.name == name) return true;
        }
        return false;
      },
      30s);
  ASSERT_TRUE(listed) << name << " never listed: " << importer.process().describe_exit();
}

// MCP client (the conformance suite) -> `polaris mcp serve` on node 1 -> cluster ->
// `polaris mcp import` on node 0 -> the fixture server. Every tools scenario passes through
// the whole chain: content blocks, errors, progress and log messages.
TEST(McpChain, ConformanceToolsScenariosThroughServeClusterImport) {
  TestCluster cluster({.nodes = 2});
  PolarisProcess importer(
      {"mcp", "import", "--server", cluster.node(0).client_url(), "--stdio", fixture_stdio()});
  auto watcher = cluster.connect_from(1);
  await_tool(watcher, "test_tool_with_logging", importer);
  await_tool(watcher, "json_schema_2020_12_tool", importer);

  PolarisProcess server(
      {"mcp", "serve", "--server", cluster.node(1).client_url(), "--http", "127.0.0.1:0"});
  const auto url = server.wait_for_line("http://127.0.0.1:", 20s);
  ASSERT_TRUE(url) << server.process().describe_exit();

  // Named too, so that a change of the active suite cannot drop them unnoticed.
  expect_server_conformance(
      *url, {"tools-list", "tools-call-simple-text", "tools-call-image", "tools-call-audio",
             "tools-call-embedded-resource", "tools-call-mixed-content", "tools-call-with-logging",
             "tools-call-error", "tools-call-with-progress", "json-schema-2020-12"});
}

// The stdio server is someone else's program: it gets the allow-list and what --env names,
// never the importer's credentials.
TEST(McpImportProcess, StdioServerGetsTheAllowListAndEnvButNoCredentials) {
  // The importer logs in with a real password, which must not reach the server it starts.
  SecurityConfig security;
  security.users.push_back({.name = "importer", .password_hash = hash_password("hunter2")});
  security.reference_compat = true;
  auto registry = Registry::start({.bind = {.port = 0}, .security = security});
  PolarisProcess importer({"mcp", "import", "--server", registry.client_url(), "--prefix", "fx",
                           "--stdio", fixture_stdio(), "--env", "SET_PROBE=set by --env", "--env",
                           "PASSED_PROBE", "--env", "UNSET_PROBE"},
                          {"POLARIS_USER=importer", "POLARIS_PASSWORD=hunter2", "OTHER_SECRET=x",
                           "LC_POLARIS_PROBE=allow-listed", "PASSED_PROBE=passed by name"});
  auto client =
      connect({.servers = {registry.client_url()}, .user = "importer", .password = "hunter2"});
  await_tool(client, "fx_test_environment", importer);
  const Json reply = client.call("fx_test_environment", Json::object(), {.timeout = 10s});
  const Json env = reply["structuredContent"]["env"];
  ASSERT_TRUE(env.is_object()) << reply.dump();
  EXPECT_FALSE(env.contains("POLARIS_PASSWORD")) << env.dump();
  EXPECT_FALSE(env.contains("POLARIS_USER")) << env.dump();
  EXPECT_FALSE(env.contains("OTHER_SECRET")) << env.dump();
  EXPECT_FALSE(env.contains("UNSET_PROBE")) << env.dump();
  EXPECT_EQ(env.value("LC_POLARIS_PROBE", ""), "allow-listed") << env.dump();
  EXPECT_EQ(env.value("SET_PROBE", ""), "set by --env") << env.dump();
  EXPECT_EQ(env.value("PASSED_PROBE", ""), "passed by name") << env.dump();
  EXPECT_TRUE(env.contains("PATH")) << env.dump();  // npx and friends are found
  // An entry without a name is refused clearly.
  const auto bad =
      run_program({test::polaris_program(), "mcp", "import", "--server", registry.client_url(),
                   "--stdio", fixture_stdio(), "--env", "=value"},
                  {"POLARIS_USER=importer", "POLARIS_PASSWORD=hunter2"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("has no name"), std::string::npos) << bad.err;
}

// Imported tools declare --call-timeout, and callers that never listed use it.
TEST(McpImportProcess, ImportedToolsDeclareTheCallTimeout) {
  auto registry = Registry::start({.bind = {.port = 0}});
  PolarisProcess importer({"mcp", "import", "--server", registry.client_url(), "--prefix", "fx",
                           "--call-timeout", "2s", "--stdio", fixture_stdio()});
  {
    auto lister = connect({.servers = {registry.client_url()}});
    await_tool(lister, "fx_test_slow", importer);
    for (const auto& tool : lister.list_tools()) {
      if (tool.name != "fx_test_slow") continue;
      ASSERT_TRUE(tool.polaris.has_value());
      EXPECT_EQ(tool.polaris->timeout, 2s);
    }
  }
  // Longer than the caller's default: Connection::call, never listed, waits for it.
  auto client = connect({.servers = {registry.client_url()}, .request_timeout = 300ms});
  const Json slept = client.call("fx_test_slow", {{"ms", 800}});
  EXPECT_EQ(slept["results"], Json::array({"slept 800 ms"})) << slept.dump();
  // Shorter than `polaris call`'s 5 s default: the call ends after about 2 s, naming the tool.
  const auto start = std::chrono::steady_clock::now();
  const auto run =
      run_polaris({"call", "--server", registry.client_url(), "fx_test_slow", R"({"ms": 4500})"});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(run.exit_code, 0) << run.out;
  EXPECT_NE(run.err.find("test_slow"), std::string::npos) << run.err;
  EXPECT_LT(took, 4s) << run.err;
  // An explicit timeout still wins. The importer bounds the MCP request by the caller's deadline
  // too, so either side's timeout may be the one reported; both name the tool.
  const auto start3 = std::chrono::steady_clock::now();
  const auto run3 = run_polaris({"call", "--server", registry.client_url(), "--timeout", "300ms",
                                 "fx_test_slow", R"({"ms": 1500})"});
  EXPECT_NE(run3.exit_code, 0) << run3.out;
  EXPECT_LT(std::chrono::steady_clock::now() - start3, 1400ms) << run3.err;
  EXPECT_NE(run3.err.find("test_slow"), std::string::npos) << run3.err;
}

}  // namespace
}  // namespace polaris::test
