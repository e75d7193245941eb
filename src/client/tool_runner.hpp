// Internal: running a tool's handler for one call, locally or for a NATS request.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <string_view>

#include "client/tool_stats.hpp"
#include "polaris/logging.hpp"
#include "polaris/tool.hpp"
#include "transport/nats_handles.hpp"

namespace polaris::detail {

/// Runs `tool` on the raw request body and returns the reply object: the handler's result, or
/// {"_error": ...} when the body is not a JSON object, the handler returns an error or a
/// non-object, or throws. Failures of the handler also go to tool.on_error. Never throws.
/// Requests refused before the handler runs (not JSON, invalid arguments) are counted in `stats`
/// as failed requests (the handler's own calls are counted by its instrumentation).
Json run_tool(const Tool& tool, std::string_view body, const Logger& log,
              const Request::Context* context = nullptr, ToolStats* stats = nullptr);

/// Same, on already parsed arguments.
Json run_tool(const Tool& tool, const Json& arguments, const Logger& log,
              const Request::Context* context = nullptr, ToolStats* stats = nullptr);

/// Runs one NATS request for `tool` and returns the reply body: reads the polaris headers
/// (deadline, progress subject), skips a call whose deadline already passed, runs it, and replaces
/// a reply larger than the connection's max payload by an `_error`. Never throws. Refusals
/// (deadline passed, bad request) are counted in `stats`.
std::string call_reply(natsConnection* connection, natsMsg* msg, const Tool& tool,
                       const Logger& log, const std::atomic<bool>* closing, ToolStats* stats);

/// The reply to a call the tool's pool has no room for (sent with Polaris-Status: busy).
std::string busy_reply(const Tool& tool, std::size_t running, const Logger& log);

}  // namespace polaris::detail
