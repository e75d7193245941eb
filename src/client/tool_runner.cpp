#include "client/tool_runner.hpp"
#include "common/untrusted_json.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <string>

#include "client/call_context.hpp"
#include "protocol/wire.hpp"
#include "schema/validate.hpp"
#include "transport/message.hpp"
#include "transport/publish.hpp"

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

/// A request refused before the handler runs: not a handler failure (on_error is not told),
/// but a failed request for the tool's statistics.
Json refuse(const std::string& message, ToolStats* stats) {
  if (stats != nullptr) stats->record_refused(message);
  return wire::error_reply(message);
}

}  // namespace

Json run_tool(const Tool& tool, const Json& arguments, const Logger& log,
              const Request::Context* context, ToolStats* stats) {
  if (!arguments.is_object()) {
    log->warn("tool {}: refused a request whose arguments are a JSON {}", tool.name,
              arguments.type_name());
    return refuse("invalid request: the arguments must be a JSON object, not " +
                      std::string(arguments.type_name()),
                  stats);
  }
  if (const auto problems = validate_arguments(tool.parameters, arguments); !problems.empty()) {
    std::string message = "invalid arguments: ";
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i > 0 ? "; " : "") + problems[i];
    log->debug("tool {}: {}", tool.name, message);
    return refuse(message, stats);
  }
  try {
    const Request request(arguments, tool.parameters, context);
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

Json run_tool(const Tool& tool, std::string_view body, const Logger& log,
              const Request::Context* context, ToolStats* stats) {
  Json arguments = polaris::detail::parse_untrusted_json(body);
  if (arguments.is_discarded()) {
    log->warn("tool {}: refused a request that is not JSON ({} bytes)", tool.name, body.size());
    return refuse("invalid request: the body is not valid JSON", stats);
  }
  return run_tool(tool, arguments, log, context, stats);
}

namespace {

// The caller's deadline from its relative timeout (clocks differ between hosts).
std::optional<std::chrono::steady_clock::time_point> deadline_of(natsMsg* msg) {
  const std::string timeout = message_header(msg, wire::kTimeoutHeader);
  if (timeout.empty()) return std::nullopt;
  char* end = nullptr;
  const long long milliseconds = std::strtoll(timeout.c_str(), &end, 10);
  if (end == timeout.c_str() || milliseconds < 0) return std::nullopt;
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(milliseconds);
}

}  // namespace

std::string call_reply(natsConnection* connection, natsMsg* msg, const Tool& tool,
                       const Logger& log, const std::atomic<bool>* closing, ToolStats* stats) {
  Request::Context context;
  context.deadline = deadline_of(msg);
  context.closing = closing;
  context.connection = connection;
  context.progress_subject = message_header(msg, wire::kProgressHeader);
  context.chain = wire::parse_chain(message_header(msg, wire::kChainHeader));
  if (context.deadline && std::chrono::steady_clock::now() >= *context.deadline) {
    log->debug("tool {}: skipped a call whose deadline had passed", tool.name);
    return refuse("the caller's deadline passed before the call ran", stats).dump();
  }
  std::string reply_body;
  try {
    reply_body = run_tool(tool, message_body(msg), log, &context, stats).dump();
  } catch (const std::exception& error) {  // dump() throws on invalid UTF-8 in strings
    reply_body = fail(tool, std::string("cannot encode the reply: ") + error.what(), log).dump();
  }
  const std::int64_t max_payload = detail::max_payload(connection);
  if (static_cast<std::int64_t>(reply_body.size()) > max_payload) {
    reply_body =
        fail(tool,
             "the reply of " + std::to_string(reply_body.size()) +
                 " bytes exceeds the max payload of " + std::to_string(max_payload) + " bytes",
             log)
            .dump();
  }
  return reply_body;
}

std::string busy_reply(const Tool& tool, std::size_t running, const Logger& log) {
  log->debug("tool {}: refused a call, {} running", tool.name, running);
  const std::string message = "busy: " + tool.name + " is already running " +
                              std::to_string(running) + " calls on this agent; retry later";
  return wire::error_reply(message).dump();
}

}  // namespace polaris::detail
