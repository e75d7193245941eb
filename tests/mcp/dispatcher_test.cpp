// The MCP server's dispatch (mcp::detail::Dispatcher) over an in-memory ToolSource: no broker.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

#include "mcp/notify.hpp"
#include "mcp/server_core.hpp"
#include "polaris/error.hpp"

namespace polaris::mcp::detail {
namespace {

class FakeTools final : public ToolSource {
 public:
  std::vector<ToolDeclaration> list_tools() override {
    ToolDeclaration add{.name = "add", .description = "adds"};
    add.parameters = {{"type", "OBJECT"}, {"properties", {{"a", {{"type", "NUMBER"}}}}}};
    return {add, {.name = "secret"}};
  }
  Json call(const std::string& name, const Json& arguments, CallOptions options) override {
    if (name != "add") throw Error(Errc::no_such_tool, "no " + name);
    if (options.on_progress) options.on_progress(progress_message(1, 2, "half"));
    return {{"sum", arguments.value("a", 0) + 1}};
  }
};

struct Fixture {
  FakeTools tools;
  ServerOptions options{.name = "test", .allow = {"add"}};
  Dispatcher dispatcher{tools, options, std::make_shared<spdlog::logger>("test")};
  ClientState client;
  std::vector<Json> sent;
  Emit emit = [this](const Json& message) { sent.push_back(message); };
  Run run = [](std::function<void()> work) {
    work();
    return true;
  };
};

TEST(McpDispatcher, ABatchGetsOneResponsePerRequest) {
  Fixture f;
  f.dispatcher.handle_line(
      R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},)"
      R"({"jsonrpc":"2.0","id":2,"result":{}},7,{"jsonrpc":"2.0","id":"b","method":"no/such"}])",
      f.client, f.emit, f.run);
  ASSERT_EQ(f.sent.size(), 3U);
  EXPECT_EQ(f.sent[0], (Json{{"jsonrpc", "2.0"}, {"id", 1}, {"result", Json::object()}}));
  EXPECT_EQ(f.sent[1]["error"]["code"], -32600);  // 7 is not a request
  EXPECT_EQ(f.sent[2]["id"], "b");
  EXPECT_EQ(f.sent[2]["error"]["code"], -32601);
}

// A request the transport's pool refuses is answered at once, with its id: never dropped.
TEST(McpDispatcher, ARefusedRequestGetsABusyError) {
  Fixture f;
  const detail::Run refuse = [](std::function<void()>) { return false; };
  f.dispatcher.handle_line(R"({"jsonrpc":"2.0","id":9,"method":"ping"})", f.client, f.emit, refuse);
  ASSERT_EQ(f.sent.size(), 1U);
  EXPECT_EQ(f.sent[0]["id"], 9);
  EXPECT_EQ(f.sent[0]["error"]["code"], -32000);
  EXPECT_EQ(f.sent[0]["error"]["message"], "server busy: too many requests in progress");
}

TEST(McpDispatcher, ToolsThroughTheToolSource) {
  Fixture f;
  f.dispatcher.handle_line(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})", f.client, f.emit,
                           f.run);
  ASSERT_EQ(f.sent.size(), 1U);
  const Json& tools = f.sent[0]["result"]["tools"];
  ASSERT_EQ(tools.size(), 1U);  // "secret" is not allowed
  EXPECT_EQ(tools[0]["name"], "add");
  EXPECT_EQ(tools[0]["inputSchema"]["properties"]["a"]["type"], "number");

  f.sent.clear();
  f.dispatcher.handle_line(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call",)"
      R"("params":{"name":"add","arguments":{"a":41},"_meta":{"progressToken":"t"}}})",
      f.client, f.emit, f.run);
  ASSERT_EQ(f.sent.size(), 2U);
  EXPECT_EQ(f.sent[0]["method"], "notifications/progress");  // before the result
  EXPECT_EQ(f.sent[0]["params"]["progressToken"], "t");
  EXPECT_EQ(f.sent[1]["result"]["structuredContent"], (Json{{"sum", 42}}));
}

TEST(McpDispatcher, InitializeRemembersTheVersionPerClient) {
  Fixture f;
  f.dispatcher.handle_line(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})",
      f.client, f.emit, f.run);
  EXPECT_EQ(f.sent.at(0)["result"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ(f.client.protocol_version, "2025-06-18");
  f.dispatcher.handle_line(
      R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"1.0"}})",
      f.client, f.emit, f.run);
  EXPECT_EQ(f.sent.at(1)["result"]["protocolVersion"], kLatestVersion);
}

}  // namespace
}  // namespace polaris::mcp::detail
