// JSON-RPC messages from an MCP client, as `polaris mcp serve` reads them on stdio: lines of
// messages and batches, dispatched (mcp::detail::Dispatcher) against an in-memory catalogue of
// fake tools instead of a cluster, so no broker is needed. The tools echo their arguments as the
// reply (so call_result_from_reply sees whatever the client sent), fail, report progress and log
// messages, or are unknown.
// Input: newline-delimited JSON-RPC, as a client writes it to the server's stdin.
// Checks: every request (string method, non-null id) gets exactly one response with its id; every
// message sent is a JSON-RPC 2.0 object that serialises.
#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/line_buffer.hpp"
#include "common/untrusted_json.hpp"
#include "fuzz_support.hpp"
#include "mcp/notify.hpp"
#include "mcp/server_core.hpp"
#include "polaris/error.hpp"

namespace {

using polaris::Json;
namespace mcp = polaris::mcp;

class FakeTools final : public mcp::detail::ToolSource {
 public:
  std::vector<polaris::ToolDeclaration> list_tools() override {
    std::vector<polaris::ToolDeclaration> tools;
    polaris::ToolDeclaration echo{.name = "echo", .description = "echoes its arguments"};
    echo.parameters = {{"type", "OBJECT"}, {"properties", {{"text", {{"type", "STRING"}}}}}};
    tools.push_back(echo);
    polaris::ToolDeclaration original{.name = "original"};
    original.extra[mcp::kJsonSchemaField] = {{"type", "object"}, {"$defs", Json::object()}};
    tools.push_back(original);
    tools.push_back({.name = "fails"});
    tools.push_back({.name = "progress"});
    tools.push_back({.name = "hidden"});  // not in ServerOptions::allow
    return tools;
  }

  Json call(const std::string& name, const Json& arguments, polaris::CallOptions options) override {
    if (name == "echo" || name == "original") return arguments;
    if (name == "fails") throw polaris::Error(polaris::Errc::tool_failed, "it failed");
    if (name == "progress") {
      if (options.on_progress) {
        options.on_progress(mcp::detail::progress_message(0.5, 1.0, "halfway"));
        options.on_progress(mcp::detail::log_message("info", arguments, "fuzz"));
        options.on_progress(arguments);  // whatever the tool sends
      }
      return {{"content", Json::array({{{"type", "text"}, {"text", "done"}}})}};
    }
    throw polaris::Error(polaris::Errc::no_such_tool, "no tool " + name);
  }
};

// The ids of the requests in `message` (a message or a batch, nested as the dispatcher walks it).
void collect_request_ids(const Json& message, std::vector<Json>& ids) {
  if (message.is_array()) {
    for (const auto& item : message) collect_request_ids(item, ids);
    return;
  }
  if (message.is_object() && message.contains("method") && message["method"].is_string() &&
      message.contains("id") && !message["id"].is_null()) {
    ids.push_back(message["id"]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static FakeTools tools;
  static const mcp::ServerOptions options{
      .name = "fuzz", .allow = {"echo", "original", "fails", "progress", "missing"}};
  static const auto quiet = std::make_shared<spdlog::logger>("fuzz");  // no sinks: no output
  static mcp::detail::Dispatcher dispatcher(tools, options, quiet);

  mcp::detail::ClientState client;
  std::vector<Json> sent;
  const mcp::detail::Emit emit = [&sent](const Json& message) {
    if (!message.is_object() || message.value("jsonrpc", "") != "2.0") {
      polaris::fuzz::broken("a message sent is not a JSON-RPC 2.0 object");
    }
    (void)message.dump(-1, ' ', false, Json::error_handler_t::replace);
    sent.push_back(message);
  };
  // Inline instead of a thread per request: the same work, deterministic.
  const mcp::detail::Run run = [](std::function<void()> work) {
    work();
    return true;
  };

  polaris::detail::LineBuffer lines;
  std::vector<Json> expected;
  const auto on_line = [&](std::string_view line) {
    const Json message = polaris::detail::parse_untrusted_json(line);
    if (!message.is_discarded()) collect_request_ids(message, expected);
    dispatcher.handle_line(line, client, emit, run);
  };
  lines.append(polaris::fuzz::as_text(data, size), on_line);
  if (const auto rest = lines.take_rest(); !rest.empty()) on_line(rest);

  // Exactly one response per request, with the request's id, in order (the runs are inline).
  std::vector<Json> answered;
  for (const auto& message : sent) {
    const bool response = message.contains("result") || message.contains("error");
    if (response && !message["id"].is_null()) answered.push_back(message["id"]);
  }
  if (answered != expected) polaris::fuzz::broken("requests and responses do not match");
  return 0;
}
