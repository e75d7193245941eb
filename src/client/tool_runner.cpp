#include "client/tool_runner.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <string>

#include "protocol/wire.hpp"
#include "schema/validate.hpp"

namespace polaris::detail {
namespace {

Json fail(const Tool& tool, const std::string& message, const Logger& log) {
  log->debug("tool {} failed: {}", tool.name, message);
  if (tool.on_error) {
    try {
      tool.on_error(tool.name, message);
    } catch (const std::exception& error) {
      log->warn("error handler of tool {} threw: {}", tool.name, error.what());
    } catch (...) {
      log->warn("error handler of tool {} threw a non-standard exception", tool.name);
    }
  }
  return wire::error_reply(message);
}

}  // namespace

Json run_tool(const Tool& tool, const Json& arguments, const Logger& log) {
  if (!arguments.is_object()) {
    // Not a handler failure: the handler never runs, so on_error is not told.
    log->warn("tool {}: refused a request whose arguments are a JSON {}", tool.name,
              arguments.type_name());
    return wire::error_reply("invalid request: the arguments must be a JSON object, not " +
                             std::string(arguments.type_name()));
  }
  if (const auto problems = validate_arguments(tool.parameters, arguments); !problems.empty()) {
    // Not a handler failure either: the handler never runs.
    std::string message = "invalid arguments: ";
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i > 0 ? "; " : "") + problems[i];
    log->debug("tool {}: {}", tool.name, message);
    return wire::error_reply(message);
  }
  try {
    const Request request(arguments, tool.parameters);
    Result result = tool.handler(request);
    if (!result.ok()) return fail(tool, result.error_message(), log);
    if (!result.value().is_object()) {
      return fail(tool,
                  "the handler returned a JSON " + std::string(result.value().type_name()) +
                      ", not an object",
                  log);
    }
    return result.value();
  } catch (const std::exception& error) {
    return fail(tool, error.what(), log);
  } catch (...) {
    return fail(tool, "the handler threw a non-standard exception", log);
  }
}

Json run_tool(const Tool& tool, std::string_view body, const Logger& log) {
  Json arguments = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (arguments.is_discarded()) {
    log->warn("tool {}: refused a request that is not JSON ({} bytes)", tool.name, body.size());
    return wire::error_reply("invalid request: the body is not valid JSON");
  }
  return run_tool(tool, arguments, log);
}

void serve_call(natsConnection* connection, NatsMsgPtr msg, const Tool& tool,
                std::int64_t max_payload, const Logger& log) {
  const char* data = natsMsg_GetData(msg.get());
  const std::string_view body(data != nullptr ? data : "",
                              static_cast<std::size_t>(natsMsg_GetDataLength(msg.get())));
  std::string reply_body;
  try {
    reply_body = run_tool(tool, body, log).dump();
  } catch (const std::exception& error) {  // dump() throws on invalid UTF-8 in strings
    reply_body = fail(tool, std::string("cannot encode the reply: ") + error.what(), log).dump();
  }
  if (static_cast<std::int64_t>(reply_body.size()) > max_payload) {
    reply_body =
        fail(tool,
             "the reply of " + std::to_string(reply_body.size()) +
                 " bytes exceeds the max payload of " + std::to_string(max_payload) + " bytes",
             log)
            .dump();
  }
  const char* reply = natsMsg_GetReply(msg.get());
  if (reply == nullptr || *reply == '\0') {
    log->debug("tool {}: call without a reply subject; result dropped", tool.name);
    return;
  }
  const natsStatus status = natsConnection_Publish(connection, reply, reply_body.data(),
                                                   static_cast<int>(reply_body.size()));
  if (status != NATS_OK) {
    log->warn("tool {}: cannot send the reply: {}", tool.name, natsStatus_GetText(status));
  }
}

}  // namespace polaris::detail
