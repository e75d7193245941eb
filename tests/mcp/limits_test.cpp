// The MCP client against hostile servers (real processes and a real HTTP server): a line, an SSE
// event or a JSON body that never ends is cut at ClientOptions::max_message_size, and the request
// waiting for it (or the whole session) fails with Errc::payload_too_large instead of buffering
// without end.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "polaris/error.hpp"
#include "polaris/mcp.hpp"
#include "support/wait.hpp"

namespace polaris::test {
namespace {

constexpr std::size_t kLimit = std::size_t{1} << 20;  // 1 MiB: quick to reach
const std::string kLimitText = "limit of 1048576 bytes";

mcp::ClientOptions options_for(mcp::ServerAddress server) {
  mcp::ClientOptions options;
  options.server = std::move(server);
  options.connect_timeout = std::chrono::seconds(20);
  options.request_timeout = std::chrono::seconds(20);
  options.max_message_size = kLimit;
  return options;
}

// The Error `body` throws; nullopt when it throws none.
template <typename Body>
std::optional<Error> error_of(Body&& body) {
  try {
    body();
  } catch (const Error& error) {
    return error;
  }
  return std::nullopt;
}

// Runs `body` and checks that it throws payload_too_large with a message naming the limit.
template <typename Body>
void expect_too_large(Body&& body) {
  const auto error = error_of(std::forward<Body>(body));
  ASSERT_TRUE(error) << "no error";
  EXPECT_EQ(error->code(), Errc::payload_too_large) << error->what();
  EXPECT_NE(std::string(error->what()).find(kLimitText), std::string::npos) << error->what();
  EXPECT_NE(std::string(error->what()).find("max_message_size"), std::string::npos)
      << error->what();
}

// The session ends (the transport's thread decides when), and later requests say why.
void expect_session_ended_too_large(mcp::Client& client) {
  ASSERT_TRUE(wait_until([&] { return !client.alive(); }, std::chrono::seconds(20)));
  expect_too_large([&] { (void)client.list_tools(); });
}

// A stdio MCP server (node, which the MCP tests need anyway) that answers initialize and then
// answers tools/call with output that never ends and has no newline.
const char* const kEndlessLineServer = R"(
const rl = require('readline').createInterface({input: process.stdin});
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.method === 'initialize') {
    process.stdout.write(JSON.stringify({jsonrpc: '2.0', id: m.id, result: {
      protocolVersion: m.params.protocolVersion, capabilities: {tools: {}},
      serverInfo: {name: 'endless', version: '1'}}}) + '\n');
  } else if (m.method === 'tools/call') {
    const chunk = 'x'.repeat(65536);
    const pump = () => { while (process.stdout.write(chunk)) {} process.stdout.once('drain', pump); };
    pump();
  }
});
)";

TEST(McpLimits, StdioServerWritingAnEndlessLineFailsThePendingCallAndTheSession) {
  mcp::Client client(options_for({.command = {"node", "-e", kEndlessLineServer}}));
  expect_too_large([&] { (void)client.call_tool("anything", Json::object()); });
  expect_session_ended_too_large(client);  // the server was stopped
}

TEST(McpLimits, StdioServerWritingNoNewlineAtAllFailsInitialize) {
  // cat /dev/zero: endless NUL bytes, never a newline, before any answer.
  expect_too_large([] { mcp::Client client(options_for({.command = {"cat", "/dev/zero"}})); });
}

// A real HTTP server on a free loopback port; handlers run on its threads.
class HostileHttpServer {
 public:
  HostileHttpServer() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the accept loop runs; wait for it so the destructor can stop it.
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~HostileHttpServer() {
    stop_ = true;
    server_.stop();
    thread_.join();
  }
  HostileHttpServer(const HostileHttpServer&) = delete;
  HostileHttpServer& operator=(const HostileHttpServer&) = delete;

  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  httplib::Server& server() { return server_; }

  // Streams `head`, then 'x' without end, until the client goes away or the server stops.
  void stream_endless(httplib::Response& response, const std::string& content_type,
                      std::string head, int status = 200) {
    response.status = status;
    response.set_chunked_content_provider(
        content_type, [this, head = std::move(head), sent_head = false](
                          std::size_t /*offset*/, httplib::DataSink& sink) mutable {
          if (!sent_head && !head.empty()) {
            sent_head = true;
            return sink.write(head.data(), head.size());
          }
          static const std::string chunk(65536, 'x');
          return !stop_ && sink.write(chunk.data(), chunk.size());
        });
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The initialize answer of a Streamable HTTP server, as plain JSON with a session id.
void answer_initialize(const httplib::Request& request, httplib::Response& response) {
  const Json message = Json::parse(request.body);
  response.set_header("Mcp-Session-Id", "s1");
  response.set_content(Json{{"jsonrpc", "2.0"},
                            {"id", message["id"]},
                            {"result",
                             {{"protocolVersion", message["params"]["protocolVersion"]},
                              {"capabilities", Json::object()},
                              {"serverInfo", {{"name", "hostile"}, {"version", "1"}}}}}}
                           .dump(),
                       "application/json");
}

// Streamable HTTP whose tools/call answers are endless: an SSE event, a JSON body, an error body.
TEST(McpLimits, StreamableHttpEndlessResponsesFailTheirRequestsOnly) {
  HostileHttpServer http;
  std::atomic<int> calls{0};
  http.server().Post("/mcp", [&](const httplib::Request& request, httplib::Response& response) {
    const Json message = Json::parse(request.body);
    const std::string method = message.value("method", "");
    if (method == "initialize") return answer_initialize(request, response);
    if (method != "tools/call") {
      response.status = 202;
      return;
    }
    switch (calls++) {
      case 0:
        return http.stream_endless(response, "text/event-stream", "event: message\ndata: ");
      case 1:
        return http.stream_endless(response, "application/json", R"({"jsonrpc":"2.0","x":")");
      default:
        // Not text/*: cpp-httplib would compress it, and 'xxx...' compresses into nothing sent.
        return http.stream_endless(response, "application/octet-stream", "", 500);
    }
  });
  http.server().Get("/mcp", [](const httplib::Request&, httplib::Response& response) {
    response.status = 405;  // no GET stream
  });
  mcp::Client client(options_for({.url = http.url("/mcp")}));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    expect_too_large([&] { (void)client.call_tool("anything", Json::object()); });
    EXPECT_TRUE(client.alive());  // each response belongs to its request
  }
  EXPECT_EQ(calls.load(), 3);
}

TEST(McpLimits, StreamableHttpEndlessGetStreamEndsTheSession) {
  HostileHttpServer http;
  http.server().Post("/mcp", [](const httplib::Request& request, httplib::Response& response) {
    if (Json::parse(request.body).value("method", "") == "initialize") {
      return answer_initialize(request, response);
    }
    response.status = 202;
  });
  http.server().Get("/mcp", [&](const httplib::Request&, httplib::Response& response) {
    http.stream_endless(response, "text/event-stream", "data: ");
  });
  mcp::Client client(options_for({.url = http.url("/mcp")}));
  expect_session_ended_too_large(client);
}

TEST(McpLimits, LegacySseEndlessEventFailsThePendingInitialize) {
  HostileHttpServer http;
  // The endpoint event arrives, so the client POSTs initialize; its answer should follow on the
  // stream, but an endless event does.
  http.server().Get("/sse", [&](const httplib::Request&, httplib::Response& response) {
    http.stream_endless(response, "text/event-stream",
                        "event: endpoint\ndata: /messages\n\nevent: message\ndata: ");
  });
  http.server().Post("/messages", [](const httplib::Request&, httplib::Response& response) {
    response.status = 202;
  });
  expect_too_large(
      [&] { mcp::Client client(options_for({.url = http.url("/sse"), .sse = true})); });
}

TEST(McpLimits, MaxMessageSizeMustBePositive) {
  auto options = options_for({.command = {"cat"}});
  options.max_message_size = 0;
  const auto error = error_of([&] { mcp::Client client(options); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), Errc::invalid_argument);
}

}  // namespace
}  // namespace polaris::test
