// Serve: the cluster as one MCP server, driven by the official TypeScript SDK client (stdio and
// Streamable HTTP) and by raw HTTP for the transport's rules.
#include <gtest/gtest.h>

#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "http/http_client.hpp"
#include "mcp/write_all.hpp"
#include "mcp_support.hpp"
#include "polaris/error.hpp"
#include "polaris/mcp.hpp"
#include "polaris/polaris.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"
#include "support/wait.hpp"

namespace polaris::test {
namespace {

class McpServe : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<Registry>(Registry::start({.bind = {.port = 0}}));
    agent_ = std::make_unique<Connection>(connect({.servers = {registry_->client_url()}}));
    agent_->register_tool({
        .name = "add",
        .description = "adds two integers",
        .parameters =
            Object{.properties = {{"a", Int{.required = true}}, {"b", Int{.required = true}}}},
        .handler = [](const Request& r) -> Result {
          return {{"result", r.integer("a") + r.integer("b")}};
        },
    });
    agent_->register_tool({
        .name = "picture",
        .description = "returns MCP content blocks",
        .handler = [](const Request&) -> Result {
          return {
              {"content",
               Json::array({{{"type", "text"}, {"text", "a pixel"}},
                            {{"type", "image"}, {"data", "AA=="}, {"mimeType", "image/png"}}})}};
        },
    });
    agent_->register_tool({
        .name = "broken",
        .description = "always fails",
        .handler = [](const Request&) -> Result { return error("it broke"); },
    });
    agent_->register_tool({
        .name = "count",
        .description = "reports progress 1, 2, 3 of 3",
        .handler = [](const Request& r) -> Result {
          for (int step = 1; step <= 3; ++step) r.progress(step, 3, "step " + std::to_string(step));
          return {{"counted", 3}};
        },
    });
    server_conn_ = std::make_unique<Connection>(connect({.servers = {registry_->client_url()}}));
  }

  ProgramResult run_sdk(const std::vector<std::string>& args, const Json& script) {
    std::vector<std::string> argv = {detail::find_executable("node"),
                                     std::string(POLARIS_MCP_TEST_DIR) + "/sdk_client.mjs"};
    argv.insert(argv.end(), args.begin(), args.end());
    (void)mcp_package("sdk");  // fails the test when the peer is missing
    return run_program(argv, {"POLARIS_MCP_PEERS=" + std::string(POLARIS_MCP_PEERS),
                              "MCP_SCRIPT=" + script.dump()});
  }

  /// Serves `input` (JSON-RPC lines) over stdio pipes until its end; returns what was written.
  /// The answers must fit the pipe's buffer: they are read once serving has ended.
  std::string serve_stdio(const std::string& input) {
    int to_server[2];
    int from_server[2];
    EXPECT_EQ(::pipe2(to_server, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(from_server, O_CLOEXEC), 0);
    mcp::Server server(*server_conn_, {});
    std::thread serving([&] { server.serve_stdio(to_server[0], from_server[1]); });
    EXPECT_EQ(::write(to_server[1], input.data(), input.size()),
              static_cast<ssize_t>(input.size()));
    ::close(to_server[1]);  // end of input: serve_stdio returns after answering
    serving.join();
    ::close(from_server[1]);
    std::string output;
    char buffer[4096];
    for (ssize_t n; (n = ::read(from_server[0], buffer, sizeof buffer)) > 0;)
      output.append(buffer, static_cast<std::size_t>(n));
    ::close(from_server[0]);
    ::close(to_server[0]);
    return output;
  }

  static Json script() {
    return Json::array({{{"call", "add"}, {"arguments", {{"a", 2}, {"b", 3}}}},
                        {{"call", "picture"}},
                        {{"call", "broken"}},
                        {{"call", "count"}, {"progress", true}}});
  }

  // expect_progress: the SDK client's stdio transport dispatches notifications in a microtask, so
  // progress read in the same chunk as the result arrives after the SDK dropped its handler;
  // over stdio the exact stream is checked by StdioProgressPrecedesTheResult instead.
  static void expect_results(const ProgramResult& run, bool expect_progress) {
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const Json out = Json::parse(run.out, nullptr, false);
    ASSERT_FALSE(out.is_discarded()) << run.out;
    std::map<std::string, Json> tools;
    for (const auto& tool : out["tools"]) tools[tool["name"]] = tool;
    ASSERT_TRUE(tools.count("add")) << out["tools"].dump();
    EXPECT_EQ(tools["add"]["inputSchema"]["properties"]["a"]["type"], "integer");
    EXPECT_EQ(tools["add"]["inputSchema"]["required"], Json::array({"a", "b"}));
    const Json& results = out["results"];
    EXPECT_EQ(results[0]["structuredContent"], (Json{{"result", 5}}));
    EXPECT_EQ(results[1]["content"][1],
              (Json{{"type", "image"}, {"data", "AA=="}, {"mimeType", "image/png"}}));
    EXPECT_EQ(results[2]["isError"], true);
    EXPECT_NE(results[2]["content"][0]["text"].get<std::string>().find("it broke"),
              std::string::npos);
    EXPECT_EQ(results[3]["structuredContent"], (Json{{"counted", 3}}));
    if (!expect_progress) return;
    // The tool's progress reached the SDK client, in order, before the result.
    const Json& progress = out["progress"][3];
    ASSERT_EQ(progress.size(), 3U) << out["progress"].dump();
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(progress[i]["progress"], i + 1);
      EXPECT_EQ(progress[i]["total"], 3);
      EXPECT_EQ(progress[i]["message"], "step " + std::to_string(i + 1));
    }
  }

  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Connection> agent_;
  std::unique_ptr<Connection> server_conn_;
};

TEST_F(McpServe, SdkClientOverStdio) {
  expect_results(
      run_sdk({"stdio", polaris_program(), "mcp", "serve", "--server", registry_->client_url()},
              script()),
      /*expect_progress=*/false);
}

TEST_F(McpServe, SdkClientOverStreamableHttp) {
  mcp::Server server(*server_conn_, {});
  server.listen("127.0.0.1", 0);
  expect_results(
      run_sdk({"http", "http://127.0.0.1:" + std::to_string(server.port()) + "/mcp"}, script()),
      /*expect_progress=*/true);
}

TEST_F(McpServe, AllowListAndBearerToken) {
  mcp::Server server(*server_conn_, {.allow = {"add"}, .bearer_token = "s3cret"});
  server.listen("127.0.0.1", 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/mcp";
  const auto run = run_sdk({"http", url, "s3cret"},
                           Json::array({{{"call", "add"}, {"arguments", {{"a", 1}, {"b", 1}}}}}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Json out = Json::parse(run.out);
  ASSERT_EQ(out["tools"].size(), 1U);
  EXPECT_EQ(out["tools"][0]["name"], "add");
  EXPECT_NE(run_sdk({"http", url, "wrong"}, Json::array()).exit_code, 0);
}

// Garbage on stdin gets JSON-RPC errors, never a crash; the session goes on.
TEST_F(McpServe, StdioSurvivesBadInput) {
  const std::string output = serve_stdio(
      "not json\n[1,2]\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"no/such\"}\n"
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":5}}\n"
      "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}}\n"
      "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}\n");
  std::map<int, Json> by_id;
  int parse_errors = 0;
  std::size_t start = 0;
  for (auto nl = output.find('\n'); nl != std::string::npos;
       start = nl + 1, nl = output.find('\n', start)) {
    const Json message = Json::parse(output.substr(start, nl - start));
    if (message["id"].is_number())
      by_id[message["id"].get<int>()] = message;
    else if (message["error"]["code"] == -32700)
      ++parse_errors;
  }
  EXPECT_EQ(parse_errors, 1) << output;
  EXPECT_EQ(by_id[1]["error"]["code"], -32601);
  EXPECT_EQ(by_id[2]["error"]["code"], -32602);
  EXPECT_EQ(by_id[3]["error"]["code"], -32602);
  EXPECT_EQ(by_id[4]["result"], Json::object());
}

// A line longer than the 16 MiB a request may take (the HTTP body limit) gets an error and ends
// the session, rather than growing without end; what came before it is answered.
TEST_F(McpServe, StdioEndsTheSessionOnAnOverlongLine) {
  int to_server[2];
  int from_server[2];
  ASSERT_EQ(::pipe2(to_server, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(from_server, O_CLOEXEC), 0);
  mcp::Server server(*server_conn_, {});
  std::string output;
  std::thread reading([&] {
    char buffer[4096];
    for (ssize_t n; (n = ::read(from_server[0], buffer, sizeof buffer)) > 0;)
      output.append(buffer, static_cast<std::size_t>(n));
  });
  std::thread writing([&] {
    const std::string input = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n" +
                              std::string(std::size_t{16} * 1024 * 1024 + 1, 'x');
    // All of it is read: the server stops only once it holds more than the limit.
    EXPECT_TRUE(mcp::detail::write_all(to_server[1], input));
  });
  server.serve_stdio(to_server[0], from_server[1]);  // returns with the input still open
  writing.join();
  ::close(from_server[1]);
  reading.join();
  ::close(from_server[0]);
  ::close(to_server[0]);
  ::close(to_server[1]);
  std::vector<Json> messages;
  std::size_t start = 0;
  for (auto nl = output.find('\n'); nl != std::string::npos;
       start = nl + 1, nl = output.find('\n', start)) {
    messages.push_back(Json::parse(output.substr(start, nl - start)));
  }
  ASSERT_EQ(messages.size(), 2U) << output;
  // The ping runs on a worker thread: its answer may come before or after the error.
  if (messages[0].contains("error")) std::swap(messages[0], messages[1]);
  EXPECT_EQ(messages[0]["id"], 1);
  EXPECT_EQ(messages[0]["result"], Json::object());
  EXPECT_EQ(messages[1]["id"], nullptr);
  EXPECT_EQ(messages[1]["error"]["code"], -32600);
  EXPECT_EQ(messages[1]["error"]["message"],
            "request too large: a line is larger than the limit of 16777216 bytes");
}

// stdio requests run on a bounded pool: with one thread and one waiting place, a third request
// while a call holds the thread is refused at once with a JSON-RPC error (no hang, no silent
// drop), and the two accepted ones are answered once the call returns.
TEST_F(McpServe, StdioRefusesRequestsBeyondThePool) {
  std::mutex mutex;
  std::condition_variable released_cv;
  bool released = false;
  agent_->register_tool({
      .name = "hold",
      .description = "returns once the test releases it",
      .handler = [&](const Request&) -> Result {
        std::unique_lock lock(mutex);
        released_cv.wait_for(lock, std::chrono::seconds(30), [&] { return released; });
        return {{"released", released}};
      },
  });
  int to_server[2];
  int from_server[2];
  ASSERT_EQ(::pipe2(to_server, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(from_server, O_CLOEXEC), 0);
  mcp::Server server(*server_conn_, {.max_parallel_requests = 1, .max_queued_requests = 1});
  std::mutex output_mutex;
  std::string output;
  std::thread reading([&] {
    char buffer[4096];
    for (ssize_t n; (n = ::read(from_server[0], buffer, sizeof buffer)) > 0;) {
      std::lock_guard lock(output_mutex);
      output.append(buffer, static_cast<std::size_t>(n));
    }
  });
  std::thread serving([&] { server.serve_stdio(to_server[0], from_server[1]); });
  const auto read_output = [&] {
    std::lock_guard lock(output_mutex);
    return output;
  };
  std::string input;
  for (int id = 1; id <= 3; ++id) {
    input += Json{{"jsonrpc", "2.0"},
                  {"id", id},
                  {"method", "tools/call"},
                  {"params", {{"name", "hold"}, {"arguments", Json::object()}}}}
                 .dump() +
             "\n";
  }
  ASSERT_TRUE(mcp::detail::write_all(to_server[1], input));
  // The refusal arrives while the first call still holds the only thread.
  EXPECT_TRUE(wait_until([&] { return read_output().find('\n') != std::string::npos; }));
  const std::string first = read_output();
  {
    std::lock_guard lock(mutex);
    released = true;
  }
  released_cv.notify_all();
  ::close(to_server[1]);  // end of input: serve_stdio returns once the accepted calls answered
  serving.join();
  ::close(from_server[1]);
  reading.join();
  ::close(from_server[0]);
  ::close(to_server[0]);
  const Json refusal = Json::parse(first.substr(0, first.find('\n')));
  EXPECT_EQ(refusal["id"], 3) << first;
  EXPECT_EQ(refusal["error"]["code"], -32000);
  EXPECT_EQ(refusal["error"]["message"], "server busy: too many requests in progress");
  std::map<int, Json> by_id;
  const std::string all = read_output();
  std::size_t start = 0;
  for (auto nl = all.find('\n'); nl != std::string::npos;
       start = nl + 1, nl = all.find('\n', start)) {
    const Json message = Json::parse(all.substr(start, nl - start));
    by_id[message["id"].get<int>()] = message;
  }
  ASSERT_EQ(by_id.size(), 3U) << all;
  for (int id : {1, 2}) {
    EXPECT_EQ(by_id[id]["result"]["structuredContent"], (Json{{"released", true}})) << all;
  }
}

// The catalogue's `polaris` declaration field (replicas, timeouts, the agent) is polaris's own:
// tools/list never passes it to an MCP client.
TEST_F(McpServe, ToolsListNeverCarriesThePolarisField) {
  ASSERT_TRUE(server_conn_->list_tools().front().polaris.has_value());  // it is in the catalogue
  const std::string output =
      serve_stdio("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n");
  const Json reply = Json::parse(output.substr(0, output.find('\n')));
  ASSERT_FALSE(reply["result"]["tools"].empty()) << output;
  for (const auto& tool : reply["result"]["tools"]) EXPECT_FALSE(tool.contains("polaris")) << tool;
  EXPECT_EQ(output.find(agent_->agent_id()), std::string::npos);
}

// Raw HTTP: the rules of Streamable HTTP.
class McpHttpRules : public McpServe {
 protected:
  void SetUp() override {
    McpServe::SetUp();
    server_ = std::make_unique<mcp::Server>(*server_conn_, mcp::ServerOptions{});
    server_->listen("127.0.0.1", 0);
    url_ = "http://127.0.0.1:" + std::to_string(server_->port()) + "/mcp";
  }

  http::Response post(const Json& body,
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      bool default_headers = true) {
    http::Request request{
        .method = "POST", .url = url_, .headers = std::move(headers), .body = body.dump()};
    if (default_headers) {
      request.headers.emplace_back("Accept", "application/json, text/event-stream");
      request.headers.emplace_back("Content-Type", "application/json");
    }
    return http::perform(request);
  }

  std::string initialize() {
    const auto response = post({{"jsonrpc", "2.0"},
                                {"id", 1},
                                {"method", "initialize"},
                                {"params",
                                 {{"protocolVersion", "2025-06-18"},
                                  {"capabilities", Json::object()},
                                  {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}});
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(Json::parse(response.body)["result"]["protocolVersion"], "2025-06-18");
    return response.header("mcp-session-id");
  }

  std::unique_ptr<mcp::Server> server_;
  std::string url_;
};

TEST_F(McpHttpRules, HeadersSessionsAndStatusCodes) {
  const Json ping = {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}};
  EXPECT_EQ(
      post(ping, {{"Accept", "application/json"}, {"Content-Type", "application/json"}}, false)
          .status,
      406);
  EXPECT_EQ(
      post(ping,
           {{"Accept", "application/json, text/event-stream"}, {"Content-Type", "text/plain"}},
           false)
          .status,
      415);
  EXPECT_EQ(post(ping).status, 400);  // no session
  EXPECT_EQ(post(ping, {{"Mcp-Session-Id", "nope"}}).status, 404);
  const std::string session = initialize();
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(
      post(ping, {{"Mcp-Session-Id", session}, {"MCP-Protocol-Version", "1999-01-01"}}).status,
      400);
  const auto pong =
      post(ping, {{"Mcp-Session-Id", session}, {"MCP-Protocol-Version", "2025-06-18"}});
  EXPECT_EQ(pong.status, 200);
  EXPECT_EQ(Json::parse(pong.body)["result"], Json::object());
  EXPECT_EQ(post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}},
                 {{"Mcp-Session-Id", session}})
                .status,
            202);
  EXPECT_EQ(http::perform({.method = "POST",
                           .url = url_,
                           .headers = {{"Accept", "application/json, text/event-stream"},
                                       {"Content-Type", "application/json"},
                                       {"Mcp-Session-Id", session}},
                           .body = "{not json"})
                .status,
            400);
  // DNS rebinding: a foreign Host or Origin is refused.
  EXPECT_EQ(post(ping, {{"Mcp-Session-Id", session}, {"Host", "evil.example:80"}}).status, 403);
  EXPECT_EQ(post(ping, {{"Mcp-Session-Id", session}, {"Origin", "http://evil.example"}}).status,
            403);
  EXPECT_EQ(post(ping, {{"Mcp-Session-Id", session}, {"Origin", "http://localhost:1234"}}).status,
            200);
  EXPECT_EQ(
      http::perform({.method = "DELETE", .url = url_, .headers = {{"Mcp-Session-Id", session}}})
          .status,
      200);
  EXPECT_EQ(post(ping, {{"Mcp-Session-Id", session}}).status, 404);
}

TEST_F(McpHttpRules, HundredSseStreamsDoNotStarveRequests) {
  constexpr int kStreams = 100;
  std::atomic<bool> stop{false};
  std::atomic<int> open{0};
  std::vector<std::thread> streams;
  std::vector<std::string> sessions;
  for (int i = 0; i < kStreams; ++i) sessions.push_back(initialize());
  for (const auto& session : sessions) {
    streams.emplace_back([&, session] {
      bool counted = false;
      (void)http::perform(
          {.method = "GET",
           .url = url_,
           .headers = {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}},
           .cancelled = [&] { return stop.load(); }},
          [&](std::string_view) {
            if (!counted) open.fetch_add(1);
            counted = true;
            return true;
          });
    });
  }
  // Each stream gets a tools/list_changed once the catalogue changes: proof that all are open.
  agent_->register_tool(
      {.name = "late", .handler = [](const Request&) -> Result { return Json::object(); }});
  EXPECT_TRUE(wait_until([&] { return open.load() == kStreams; }, std::chrono::seconds(15)))
      << open.load();
  const auto start = std::chrono::steady_clock::now();
  const auto pong = post({{"jsonrpc", "2.0"}, {"id", 9}, {"method", "tools/list"}},
                         {{"Mcp-Session-Id", sessions[0]}});
  EXPECT_EQ(pong.status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  stop.store(true);
  for (auto& t : streams) t.join();
}

}  // namespace
}  // namespace polaris::test

namespace polaris::test {
namespace {

// Over stdio, a tool's progress notifications are written before the call's result, in order.
TEST_F(McpServe, StdioProgressPrecedesTheResult) {
  const std::string input =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
      R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"
      "\n"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"count","arguments":{},)"
      R"("_meta":{"progressToken":"tok"}}})"
      "\n";
  const auto run = run_program(
      {polaris_program(), "mcp", "serve", "--server", registry_->client_url()}, {}, input);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<Json> lines;
  std::istringstream out(run.out);
  for (std::string line; std::getline(out, line);) lines.push_back(Json::parse(line));
  ASSERT_EQ(lines.size(), 5U) << run.out;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[1 + i]["method"], "notifications/progress") << run.out;
    EXPECT_EQ(lines[1 + i]["params"]["progressToken"], "tok");
    EXPECT_EQ(lines[1 + i]["params"]["progress"], i + 1);
  }
  EXPECT_EQ(lines[4]["id"], 2);
  EXPECT_EQ(lines[4]["result"]["structuredContent"], (Json{{"counted", 3}}));
}

}  // namespace
}  // namespace polaris::test
