// JSON-RPC messages from an MCP server, as the MCP client (mcp import, `polaris mcp`) reads them:
// the initialize result, responses with odd ids, server requests and notifications mixed in,
// tools/list pages, tools/call results; plus the conversions of results and of tools' progress
// messages that `mcp serve` and the importer apply.
// Input: the server's answers to the client's successive requests, separated by "\n====\n"; each
// is a message or a batch (array). An object without "id" gets the request's id.
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

#include "common/untrusted_json.hpp"
#include "fuzz_support.hpp"
#include "mcp/client_transport.hpp"
#include "mcp/notify.hpp"
#include "polaris/error.hpp"
#include "polaris/mcp.hpp"

namespace {

using polaris::Json;
namespace mcp = polaris::mcp;

// A server in the same process: each request the client sends is answered, before send()
// returns (as the Streamable HTTP transport does), with the next scripted answer.
class ScriptedServer final : public mcp::detail::ClientTransport {
 public:
  explicit ScriptedServer(std::vector<Json> answers) : answers_(std::move(answers)) {}

  void start(OnMessage on_message, OnClosed on_closed) override {
    on_message_ = std::move(on_message);
    on_closed_ = std::move(on_closed);
  }

  void send(const Json& message, const std::function<bool()>& /*cancelled*/) override {
    // Only the client's requests get answers (not its notifications or its replies to us).
    if (!message.contains("method") || !message.contains("id")) return;
    Json answer = next_ < answers_.size() ? answers_[next_++]
                                          : Json{{"jsonrpc", "2.0"}, {"result", Json::object()}};
    if (answer.is_object() && !answer.contains("id")) answer["id"] = message["id"];
    if (answer.is_array()) {
      for (const auto& item : answer) on_message_(item, Json());
    } else {
      on_message_(answer, Json());
    }
  }

  void close() noexcept override {}

 private:
  std::vector<Json> answers_;
  std::size_t next_ = 0;
  OnMessage on_message_;
  OnClosed on_closed_;
};

std::vector<Json> script;  // the current input's answers, for the factory

void check_conversions(const Json& message) {
  (void)mcp::call_result_from_reply(message).dump();
  (void)mcp::reply_from_call_result(message).dump();
  (void)mcp::detail::notification_from_tool_message(message, Json(7));
  (void)mcp::detail::notification_from_tool_message(message, Json());
  if (message.is_object()) {
    if (const auto result = message.find("result"); result != message.end()) {
      (void)mcp::reply_from_call_result(*result).dump();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  mcp::detail::set_transport_factory_for_testing(
      [](const mcp::ServerAddress&) { return std::make_unique<ScriptedServer>(script); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  script.clear();
  for (const auto part : polaris::fuzz::split(polaris::fuzz::as_text(data, size))) {
    Json answer = polaris::detail::parse_untrusted_json(part);  // as the transports do
    if (answer.is_discarded()) answer = Json::object();         // no answer: the request times out
    check_conversions(answer);
    script.push_back(std::move(answer));
  }
  static const auto quiet = std::make_shared<spdlog::logger>("fuzz");  // no sinks: no output
  mcp::ClientOptions options;
  options.server.url = "fuzz://scripted";
  options.connect_timeout = std::chrono::milliseconds(1);
  options.request_timeout = std::chrono::milliseconds(1);
  options.logger = quiet;
  try {
    mcp::Client client(options);
    client.on_notification([](const std::string& method, const Json& params) {
      (void)method.size();
      (void)params.dump();
    });
    (void)client.server_info().dump();
    try {
      for (const auto& tool : client.list_tools()) (void)tool.dump();
    } catch (const polaris::Error&) {
    }
    try {
      const Json result = client.call_tool("tool", Json::object(), std::nullopt,
                                           [](const Json& progress) { (void)progress.dump(); });
      (void)mcp::reply_from_call_result(result).dump();
    } catch (const polaris::Error&) {
    }
  } catch (const polaris::Error&) {  // initialize refused or timed out: documented
  }
  return 0;
}
