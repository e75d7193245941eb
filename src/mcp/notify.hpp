// mcp/notify.hpp - the progress/log convention between a running polaris tool and `mcp serve`.
//
// Internal. See docs/PROTOCOL.md, "MCP": the MCP server names a NATS subject in the request header
// `Polaris-Progress`; the tool publishes JSON messages there while it runs:
//   {"progress": 0.5, "total": 1, "message": "halfway"}            -> notifications/progress
//   {"log": {"level": "info", "logger": "x", "data": ...}}          -> notifications/message
// Wiring it needs the core change described in the MCP report (headers on calls and requests);
// this is the part that does not.
#pragma once

#include <optional>
#include <string>

#include "polaris/json.hpp"

namespace polaris::mcp::detail {

/// The request header that names the notification subject of a call.
inline constexpr const char* kNotifyHeader = "Polaris-Progress";

/// The MCP notification a tool's message becomes, for the MCP request with `progress_token`
/// (null: the client asked for no progress, so progress messages are dropped). nullopt for a
/// message that is neither (bad input is dropped, never thrown).
std::optional<Json> notification_from_tool_message(const Json& message, const Json& progress_token);

/// The tool side: the JSON a progress report or a log line is sent as.
Json progress_message(double progress, std::optional<double> total, const std::string& message);
Json log_message(const std::string& level, const Json& data, const std::string& logger);

}  // namespace polaris::mcp::detail
