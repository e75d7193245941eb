// Import: real MCP servers (npm) over stdio, Streamable HTTP and HTTP+SSE become polaris tools.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "mcp_support.hpp"
#include "polaris/error.hpp"
#include "polaris/mcp.hpp"
#include "polaris/polaris.hpp"
#include "process/child_process.hpp"
#include "support/wait.hpp"

namespace polaris::test {
namespace {

class McpImport : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<Registry>(Registry::start({.bind = {.port = 0}}));
    agent_ = std::make_unique<Connection>(connect({.servers = {registry_->client_url()}}));
    client_ = std::make_unique<Connection>(connect({.servers = {registry_->client_url()}}));
  }

  // echo and get-sum through the registry, from another connection.
  void expect_everything_tools(const std::string& prefix) {
    Json echo;
    Json original;
    ASSERT_TRUE(wait_until([&] {
      for (const auto& tool : client_->list_tools()) {
        if (tool.name == prefix + "_echo") {
          echo = tool.parameters;
          original = tool.extra.value(mcp::kJsonSchemaField, Json());
        }
      }
      return !echo.is_null();
    }));
    // The original JSON Schema travels beside the Gemini-subset one.
    EXPECT_EQ(original["properties"]["message"]["type"], "string") << original.dump();
    EXPECT_EQ(echo["properties"]["message"]["type"], "STRING");
    EXPECT_EQ(echo["required"], Json::array({"message"}));
    const Json reply = client_->call(prefix + "_echo", {{"message", "hello"}},
                                     {.timeout = std::chrono::seconds(10)});
    EXPECT_EQ(reply["results"], Json::array({"Echo: hello"}));
    EXPECT_EQ(reply["content"][0]["type"], "text");
    const Json sum = client_->call(prefix + "_get-sum", {{"a", 2}, {"b", 40}},
                                   {.timeout = std::chrono::seconds(10)});
    EXPECT_NE(sum["results"][0].get<std::string>().find("42"), std::string::npos) << sum.dump();
  }

  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Connection> agent_;
  std::unique_ptr<Connection> client_;
};

TEST_F(McpImport, EverythingOverStdio) {
  mcp::Import imported(
      *agent_,
      {.client = {.server = {.command = {"node",
                                         mcp_package("server-everything") + "/dist/index.js",
                                         "stdio"}}},
       .prefix = "ev"});
  EXPECT_TRUE(imported.alive());
  expect_everything_tools("ev");
  // Content blocks other than text come back whole.
  const Json image =
      client_->call("ev_get-tiny-image", Json::object(), {.timeout = std::chrono::seconds(10)});
  bool has_image = false;
  for (const auto& block : image["content"]) {
    if (block["type"] == "image")
      has_image = block["mimeType"] == "image/png" && !block["data"].get<std::string>().empty();
  }
  EXPECT_TRUE(has_image) << image.dump().substr(0, 300);
  // Structured content too.
  const Json weather = client_->call("ev_get-structured-content", {{"location", "Chicago"}},
                                     {.timeout = std::chrono::seconds(10)});
  EXPECT_TRUE(weather["structuredContent"].contains("temperature")) << weather.dump();
  // Closing unregisters.
  imported.close();
  EXPECT_TRUE(agent_->local_tools().empty());
}

TEST_F(McpImport, EverythingOverStreamableHttp) {
  EverythingHttpServer server("streamableHttp");
  mcp::Import imported(
      *agent_,
      {.client = {.server = {.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/mcp"}},
       .prefix = "http"});
  expect_everything_tools("http");
}

TEST_F(McpImport, EverythingOverSse) {
  EverythingHttpServer server("sse");
  mcp::Import imported(
      *agent_,
      {.client = {.server = {.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/sse",
                             .sse = true}},
       .prefix = "sse"});
  expect_everything_tools("sse");
}

TEST_F(McpImport, FilesystemOverStdioAndIsErrorBecomesError) {
  detail::TempDir dir("polaris-mcp-fs");
  {
    std::ofstream file(dir.path() + "/note.txt");
    file << "polaris was here\n";
  }
  mcp::Import imported(
      *agent_,
      {.client = {.server = {.command = {"node",
                                         mcp_package("server-filesystem") + "/dist/index.js",
                                         dir.path()}}},
       .prefix = "fs"});
  const auto names = imported.tools();
  ASSERT_NE(std::find(names.begin(), names.end(), "fs_read_text_file"), names.end());
  const Json text = client_->call("fs_read_text_file", {{"path", dir.path() + "/note.txt"}},
                                  {.timeout = std::chrono::seconds(10)});
  EXPECT_NE(text["results"][0].get<std::string>().find("polaris was here"), std::string::npos)
      << text.dump();
  try {
    (void)client_->call("fs_read_text_file", {{"path", dir.path() + "/missing.txt"}},
                        {.timeout = std::chrono::seconds(10)});
    ADD_FAILURE() << "an isError result must become an _error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::tool_failed);
    EXPECT_NE(std::string(error.what()).find("missing.txt"), std::string::npos) << error.what();
  }
}

TEST_F(McpImport, ProgressPassesThroughTheClient) {
  mcp::Client client(
      {.server = {
           .command = {"node", mcp_package("server-everything") + "/dist/index.js", "stdio"}}});
  std::vector<Json> progress;
  std::mutex mutex;
  const Json result =
      client.call_tool("trigger-long-running-operation", {{"duration", 0.3}, {"steps", 3}},
                       std::chrono::seconds(10), [&](const Json& p) {
                         std::lock_guard lock(mutex);
                         progress.push_back(p);
                       });
  EXPECT_FALSE(result.value("isError", false));
  std::lock_guard lock(mutex);
  EXPECT_EQ(progress.size(), 3U);
}

// The MCP server's log messages during a call reach the polaris caller, as its progress does.
TEST_F(McpImport, LogMessagesReachThePolarisCaller) {
  mcp::Import imported(*agent_, {.client = {.server = {.command = fixture_server_command()}}});
  std::mutex mutex;
  std::vector<Json> logs;
  const Json reply =
      client_->call("test_tool_with_logging", Json::object(),
                    {.timeout = std::chrono::seconds(10), .on_progress = [&](const Json& message) {
                       std::lock_guard lock(mutex);
                       if (message.contains("log")) logs.push_back(message["log"]);
                     }});
  EXPECT_EQ(reply["results"], Json::array({"Tool with logging executed successfully"}));
  std::lock_guard lock(mutex);
  ASSERT_EQ(logs.size(), 3U) << Json(logs).dump();
  EXPECT_EQ(logs[0],
            (Json{{"level", "info"}, {"logger", "fixture"}, {"data", "Tool execution started"}}));
  EXPECT_EQ(logs[2]["data"], "Tool execution completed");
}

// The client hands a log message to the one request in flight that takes logs.
TEST_F(McpImport, ClientRelaysLogMessagesToTheRequestInFlight) {
  mcp::Client client({.server = {.command = fixture_server_command()}});
  std::vector<std::string> logs;
  const Json result =
      client.call_tool("test_tool_with_logging", Json::object(), std::chrono::seconds(10), {},
                       [&](const Json& log) { logs.push_back(log.value("data", std::string())); });
  EXPECT_FALSE(result.value("isError", false));
  EXPECT_EQ(logs, (std::vector<std::string>{"Tool execution started", "Tool processing data",
                                            "Tool execution completed"}));
}

// Issue 11, gap (a): over Streamable HTTP the server sends a call's log messages on that call's
// own response stream, so each reaches the caller whose call logged it, however many calls are
// in flight on the session: two polaris callers of one imported tool each get their own logs.
// (Before, with two calls in flight, they went to the debug log.)
TEST_F(McpImport, OverHttpEachCallersLogMessagesReachThatCaller) {
  FixtureHttpServer server;
  mcp::Import imported(*agent_, {.client = {.server = {.url = server.url()}}});
  ASSERT_TRUE(wait_until([&] {
    for (const auto& tool : client_->list_tools()) {
      if (tool.name == "test_log_tagged") return true;
    }
    return false;
  }));
  auto second = connect({.servers = {registry_->client_url()}});
  std::mutex mutex;
  std::vector<std::string> slow_logs;
  std::vector<std::string> quick_logs;
  const auto call = [&mutex](Connection& caller, const std::string& tag, int ms,
                             std::vector<std::string>& logs) {
    const Json reply =
        caller.call("test_log_tagged", {{"tag", tag}, {"count", 3}, {"ms", ms}},
                    {.timeout = std::chrono::seconds(20), .on_progress = [&](const Json& message) {
                       std::lock_guard lock(mutex);
                       if (message.contains("log"))
                         logs.push_back(message["log"].value("data", ""));
                     }});
    EXPECT_EQ(reply["results"], Json::array({tag})) << reply;
  };
  // The slow call logs at once, then every 300 ms: once its first log arrived, it is in flight
  // for the whole quick call.
  std::thread slow([&] { call(*client_, "slow", 300, slow_logs); });
  EXPECT_TRUE(wait_until([&] {
    std::lock_guard lock(mutex);
    return !slow_logs.empty();
  }));
  call(second, "quick", 1, quick_logs);
  slow.join();
  std::lock_guard lock(mutex);
  EXPECT_EQ(quick_logs, (std::vector<std::string>{"quick 1", "quick 2", "quick 3"}));
  EXPECT_EQ(slow_logs, (std::vector<std::string>{"slow 1", "slow 2", "slow 3"}));
}

// stdio cannot tie a log message to a request (one pipe, and MCP log messages carry no request
// id): a log message is relayed when exactly one request that takes logs is in flight, and
// with several it goes to the debug log, so that no caller sees another's (docs/PROTOCOL.md,
// "Progress and log messages from a running tool").
TEST_F(McpImport, OverStdioLogMessagesAreRelayedOnlyWithOneCallInFlight) {
  mcp::Client client({.server = {.command = fixture_server_command()}});
  std::mutex mutex;
  std::vector<std::string> slow_logs;
  std::vector<std::string> quick_logs;
  const auto collect = [&mutex](std::vector<std::string>& logs) {
    return [&mutex, &logs](const Json& log) {
      std::lock_guard lock(mutex);
      logs.push_back(log.value("data", std::string()));
    };
  };
  std::atomic<bool> slow_sent{false};
  std::thread slow([&] {
    slow_sent = true;
    (void)client.call_tool("test_slow", {{"ms", 2000}}, std::chrono::seconds(20), {},
                           collect(slow_logs));
  });
  ASSERT_TRUE(wait_until([&] { return slow_sent.load(); }));
  const Json both = client.call_tool("test_log_tagged", {{"tag", "both"}, {"count", 3}, {"ms", 1}},
                                     std::chrono::seconds(20), {}, collect(quick_logs));
  slow.join();
  EXPECT_EQ(both["content"][0]["text"], "both") << both;
  const Json alone = client.call_tool("test_log_tagged", {{"tag", "alone"}, {"count", 2}},
                                      std::chrono::seconds(20), {}, collect(quick_logs));
  EXPECT_EQ(alone["content"][0]["text"], "alone") << alone;
  std::lock_guard lock(mutex);
  EXPECT_EQ(slow_logs, std::vector<std::string>{});
  EXPECT_EQ(quick_logs, (std::vector<std::string>{"alone 1", "alone 2"}));
}

TEST_F(McpImport, TimeoutCancelsAndPingsAreAnswered) {
  mcp::Client client(
      {.server = {
           .command = {"node", mcp_package("server-everything") + "/dist/index.js", "stdio"}}});
  EXPECT_EQ(client.request("ping"), Json::object());
  try {
    (void)client.call_tool("trigger-long-running-operation", {{"duration", 5}, {"steps", 5}},
                           std::chrono::milliseconds(300));
    ADD_FAILURE() << "expected a timeout";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::timeout);
  }
  // The session still works after the cancelled request.
  EXPECT_EQ(client.call_tool("echo", {{"message", "still here"}})["content"][0]["text"],
            "Echo: still here");
}

TEST_F(McpImport, MissingProgramIsAConnectionFailure) {
  try {
    mcp::Import imported(*agent_, {.client = {.server = {.command = {"/nonexistent/mcp-server"}}}});
    ADD_FAILURE();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::connection_failed);
  }
}

}  // namespace
}  // namespace polaris::test
