// mcp/server_core.cpp - the MCP methods of `mcp serve`: initialize, ping, tools/list, tools/call.
#include "mcp/server_core.hpp"

#include <algorithm>

#include "common/log.hpp"
#include "common/untrusted_json.hpp"
#include "mcp/notify.hpp"
#include "polaris/error.hpp"
#include "polaris/version.hpp"

namespace polaris::mcp::detail {

Json rpc_error(const Json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

Json rpc_result(const Json& id, Json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

Dispatcher::Dispatcher(ToolSource& tools, const ServerOptions& options, Logger log)
    : tools_(tools), options_(options), log_(std::move(log)) {}

Json Dispatcher::handle_request(const Json& message, ClientState& client, const Emit& emit) {
  const Json id = message["id"];
  const std::string method = message["method"].get<std::string>();
  const Json params = message.contains("params") && message["params"].is_object()
                          ? message["params"]
                          : Json::object();
  try {
    if (method == "initialize") return rpc_result(id, initialize(params, client));
    if (method == "ping") return rpc_result(id, Json::object());
    if (method == "tools/list") return rpc_result(id, {{"tools", list_tools()}});
    if (method == "tools/call") return call_tool(id, params, emit);
    if (method == "logging/setLevel") return rpc_result(id, Json::object());
    return rpc_error(id, -32601, "method not found: " + method);
  } catch (const Error& error) {
    return rpc_error(id, -32603, error.what());
  } catch (const std::exception& error) {
    return rpc_error(id, -32603, std::string("internal error: ") + error.what());
  }
}

Json Dispatcher::initialize(const Json& params, ClientState& client) {
  const auto& versions = supported_protocol_versions();
  std::string version = kLatestVersion;
  if (auto it = params.find("protocolVersion");
      it != params.end() && it->is_string() &&
      std::find(versions.begin(), versions.end(), *it) != versions.end()) {
    version = it->get<std::string>();
  }
  {
    std::lock_guard lock(client.mutex);
    client.protocol_version = version;
  }
  return {{"protocolVersion", version},
          {"capabilities", {{"tools", {{"listChanged", true}}}, {"logging", Json::object()}}},
          {"serverInfo", {{"name", options_.name}, {"version", std::string(polaris::version())}}}};
}

bool Dispatcher::allowed(const std::string& name) const {
  return options_.allow.empty() ||
         std::find(options_.allow.begin(), options_.allow.end(), name) != options_.allow.end();
}

Json Dispatcher::list_tools() {
  Json tools = Json::array();
  for (const auto& declaration : tools_.list_tools()) {
    if (!allowed(declaration.name)) continue;
    Json tool = {{"name", declaration.name}};
    if (!declaration.description.empty()) tool["description"] = declaration.description;
    auto original = declaration.extra.find(kJsonSchemaField);
    if (original != declaration.extra.end() && original->is_object()) {
      tool["inputSchema"] = *original;
    } else {
      tool["inputSchema"] = wire_to_json_schema(declaration.parameters);
    }
    if (!tool["inputSchema"].contains("type")) tool["inputSchema"]["type"] = "object";
    tools.push_back(tool);
  }
  return tools;
}

Json Dispatcher::call_tool(const Json& id, const Json& params, const Emit& emit) {
  const auto name = params.find("name");
  if (name == params.end() || !name->is_string()) {
    return rpc_error(id, -32602, "tools/call needs a string \"name\"");
  }
  if (!allowed(*name)) return rpc_error(id, -32602, "unknown tool: " + name->get<std::string>());
  Json arguments = params.value("arguments", Json::object());
  if (!arguments.is_object()) return rpc_error(id, -32602, "the arguments must be an object");
  try {
    // The tool's progress and log messages become notifications on this request's stream.
    const auto meta = params.find("_meta");
    const Json token =
        meta != params.end() && meta->is_object() ? meta->value("progressToken", Json()) : Json();
    CallOptions call_options{.timeout = options_.call_timeout};
    call_options.on_progress = [emit, token](const Json& message) {  // emit copied: see RequestMux
      if (auto notification = notification_from_tool_message(message, token)) {
        emit(*notification);
      }
    };
    const Json reply = tools_.call(name->get<std::string>(), arguments, std::move(call_options));
    return rpc_result(id, call_result_from_reply(reply));
  } catch (const Error& error) {
    if (error.code() == Errc::no_such_tool) {
      return rpc_error(id, -32602, "unknown tool: " + name->get<std::string>());
    }
    if (error.code() == Errc::invalid_argument) return rpc_error(id, -32602, error.what());
    // A tool's `_error`, a timeout, a lost connection: an isError result the model can read.
    return rpc_result(id, {{"content", Json::array({{{"type", "text"}, {"text", error.what()}}})},
                           {"isError", true}});
  }
}

void Dispatcher::handle_notification(const Json& message) {
  log_->debug("mcp serve: notification {}", message.value("method", ""));
}

void Dispatcher::handle_line(std::string_view line, ClientState& client, const Emit& emit,
                             const Run& run) {
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  Json message = polaris::detail::parse_untrusted_json(line);
  if (message.is_discarded()) {
    emit(rpc_error(nullptr, -32700, "parse error"));
    return;
  }
  handle_message(message, client, emit, run);
}

void Dispatcher::handle_message(const Json& message, ClientState& client, const Emit& emit,
                                const Run& run) {
  if (message.is_array()) {
    for (const auto& item : message) handle_message(item, client, emit, run);
    return;
  }
  if (!message.is_object()) {
    emit(rpc_error(nullptr, -32600, "invalid request"));
    return;
  }
  const bool has_method = message.contains("method") && message["method"].is_string();
  const bool has_id = message.contains("id") && !message["id"].is_null();
  if (!has_method) return;  // a response to something we never ask
  if (!has_id) {
    handle_notification(message);
    return;
  }
  if (!run([this, message, &client, emit] { emit(handle_request(message, client, emit)); })) {
    emit(rpc_error(message["id"], kBusy, "server busy: too many requests in progress"));
  }
}

}  // namespace polaris::mcp::detail
