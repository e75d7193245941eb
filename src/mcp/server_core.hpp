// mcp/server_core.hpp - the JSON-RPC side of `mcp serve`, without a Connection or a transport.
//
// Internal. The server's transports (stdio, Streamable HTTP) hand messages to a Dispatcher, which
// reaches the cluster only through a ToolSource: the Server passes its Connection, the fuzz target
// fuzz/mcp_serve_fuzz.cpp an in-memory fake, so the dispatch is fuzzed without a broker.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/connection.hpp"
#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "polaris/mcp.hpp"
#include "polaris/tool.hpp"

namespace polaris::mcp::detail {

/// The protocol version answered when the client asks for one we do not speak.
inline constexpr const char* kLatestVersion = "2025-11-25";

/// The few things the MCP server needs of the cluster.
/// Thread safety: implementations must allow calls from several threads at once.
class ToolSource {
 public:
  virtual ~ToolSource() = default;
  /// The catalogue. @throws Error as Connection::list_tools.
  virtual std::vector<ToolDeclaration> list_tools() = 0;
  /// Calls a tool. @throws Error as Connection::call.
  virtual Json call(const std::string& name, const Json& arguments, CallOptions options) = 0;
};

/// A Connection as a ToolSource; the connection must outlive it.
class ConnectionToolSource final : public ToolSource {
 public:
  explicit ConnectionToolSource(Connection& connection) : connection_(connection) {}
  std::vector<ToolDeclaration> list_tools() override { return connection_.list_tools(); }
  Json call(const std::string& name, const Json& arguments, CallOptions options) override {
    return connection_.call(name, arguments, std::move(options));
  }

 private:
  Connection& connection_;
};

/// What the protocol remembers of one client. Thread safety: guarded by mutex.
struct ClientState {
  std::mutex mutex;
  std::string protocol_version = kLatestVersion;
};

/// Sends a message to the client (a response, or a notification while a request runs).
using Emit = std::function<void(const Json&)>;
/// Runs a request's work: on a bounded pool for stdio, inline for the fuzz target. Returns false
/// when it refuses the work (the pool is full): the request is then answered with kBusy.
using Run = std::function<bool(std::function<void()>)>;

/// The JSON-RPC error code (implementation-defined server error) of a request refused because
/// too many are in progress.
inline constexpr int kBusy = -32000;

Json rpc_error(const Json& id, int code, const std::string& message);
Json rpc_result(const Json& id, Json result);

/// The MCP methods of the server, over a ToolSource.
/// Thread safety: every method may be called from several threads at once (it holds no state
/// besides the options; ClientState has its own mutex).
class Dispatcher {
 public:
  /// `tools` must outlive the Dispatcher.
  Dispatcher(ToolSource& tools, const ServerOptions& options, Logger log);

  /// Handles one request (an object with a string "method" and a non-null "id") and returns its
  /// response. `emit` sends notifications related to it (progress, log messages) while it runs.
  /// Never throws for any request: failures become JSON-RPC errors or isError results.
  Json handle_request(const Json& message, ClientState& client, const Emit& emit);
  /// A notification from the client (initialized, cancelled): nothing to do.
  void handle_notification(const Json& message);

  /// One line of newline-delimited JSON-RPC (stdio): a message or a batch. Answers a parse error
  /// or an invalid request at once with `emit`, hands each request to `run` (which must call the
  /// work it is given exactly once, or refuse it: then the request is answered with kBusy at
  /// once) and ignores responses.
  void handle_line(std::string_view line, ClientState& client, const Emit& emit, const Run& run);
  /// The same for a message already parsed.
  void handle_message(const Json& message, ClientState& client, const Emit& emit, const Run& run);

  /// tools/list's tools: the catalogue (filtered by ServerOptions::allow) as MCP tools.
  Json list_tools();

 private:
  Json initialize(const Json& params, ClientState& client);
  Json call_tool(const Json& id, const Json& params, const Emit& emit);
  [[nodiscard]] bool allowed(const std::string& name) const;

  ToolSource& tools_;
  const ServerOptions& options_;
  Logger log_;
};

}  // namespace polaris::mcp::detail
