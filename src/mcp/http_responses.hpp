// Internal: the responses of the MCP server's Streamable HTTP transport on libmicrohttpd: JSON
// bodies, JSON-RPC errors, and SSE streams read from an EventStream.
#pragma once

#include <microhttpd.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "mcp/server_session.hpp"

namespace polaris::mcp::detail {

/// The value of request header `name`; empty when absent.
std::string request_header(MHD_Connection* connection, const char* name);

/// A response with `body` (none when empty), naming the session when `session_id` is not empty.
MHD_Result send_text(MHD_Connection* connection, unsigned status, const std::string& body,
                     const char* content_type = "application/json",
                     const std::string& session_id = {});
/// A JSON-RPC error without an id.
MHD_Result send_error(MHD_Connection* connection, unsigned status, int code,
                      const std::string& message);
/// `stream` as text/event-stream from event `from` on, until it finishes or `closing` is set;
/// `is_get`: the session's GET stream, forgotten by the session when the connection ends.
MHD_Result send_stream(MHD_Connection* connection, std::shared_ptr<EventStream> stream,
                       std::size_t from, std::shared_ptr<Session> session, bool is_get,
                       const std::atomic<bool>& closing);
/// 405 with the methods the endpoint allows.
MHD_Result send_method_not_allowed(MHD_Connection* connection);

}  // namespace polaris::mcp::detail
