// polaris/mcp.hpp - MCP (Model Context Protocol) both ways.
//
// Import: an MCP server's tools become polaris tools (mcp::Import), reached over stdio (a command
// polaris launches and supervises), Streamable HTTP or the older HTTP+SSE transport. The MCP client
// underneath (mcp::Client) is public too.
//
// Serve: the whole cluster as one MCP server (mcp::Server), over stdio or Streamable HTTP.
//
// Conventions (declaration field for the original JSON Schema, content blocks, progress and log
// notifications from a running tool) are documented in docs/PROTOCOL.md, section "MCP".
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "polaris/connection.hpp"
#include "polaris/json.hpp"
#include "polaris/logging.hpp"

namespace polaris::mcp {

/// Protocol versions this implementation speaks, newest first ("2025-11-25" ... "2024-11-05").
const std::vector<std::string>& supported_protocol_versions();

/// The declaration field that carries a tool's original JSON Schema (Gemini's name for it).
inline constexpr const char* kJsonSchemaField = "parametersJsonSchema";

/// Converts any JSON Schema (draft 7 / 2020-12, as MCP servers send them) to the polaris wire
/// schema (the Gemini/OpenAPI subset). Resolves local `$ref`s (`#/$defs/...`, `#/definitions/...`),
/// keeps nested `required`, turns `["x","null"]` and `anyOf [x, null]` into nullable x, and enums
/// into string enums. What the subset cannot say is dropped (the original is kept elsewhere). Never
/// throws on odd input: a node it cannot understand becomes a schema without a type (any value).
[[nodiscard]] Json json_schema_to_wire(const Json& json_schema);

/// The other way: a polaris wire schema as a JSON Schema object (lower-case types, integer enums
/// as numbers). A null or non-object schema gives {"type": "object"}.
[[nodiscard]] Json wire_to_json_schema(const Json& wire_schema);

/// Replaces characters a polaris tool name does not allow by '_', joins a non-empty prefix with
/// '_', and cuts to 64 characters. The result always satisfies is_valid_tool_name().
[[nodiscard]] std::string polaris_tool_name(const std::string& prefix, const std::string& name);

/// Where an MCP server is. Exactly one of `command` and `url` is set.
struct ServerAddress {
  /// stdio: the program and its arguments (argv[0] looked up in PATH).
  std::vector<std::string> command{};
  /// The stdio program's environment beyond the fixed allow-list it always gets (PATH, HOME,
  /// USER, LOGNAME, SHELL, TERM, LANG, LC_*, TZ, TMPDIR, XDG_* directories, proxies, CA bundles,
  /// npm_config_*; docs/SECURITY.md, "MCP"): "NAME=value" sets NAME, a bare "NAME" passes our
  /// own NAME on. Nothing else of ours reaches the program: not POLARIS_PASSWORD, POLARIS_TOKEN
  /// or any other credential, unless named here.
  std::vector<std::string> env{};
  /// Streamable HTTP endpoint (e.g. http://127.0.0.1:3001/mcp), or with `sse` the HTTP+SSE
  /// endpoint of the 2024-11-05 transport (e.g. http://127.0.0.1:3001/sse).
  std::string url{};
  bool sse = false;
  /// Extra HTTP headers for every request (e.g. {"Authorization", "Bearer ..."}).
  std::vector<std::pair<std::string, std::string>> headers{};
};

/// Options of an MCP client.
struct ClientOptions {
  ServerAddress server{};
  std::string client_name = "polaris";
  /// The version asked for in initialize; empty: the newest supported.
  std::string protocol_version{};
  /// How long initialize (including starting a stdio server) may take.
  std::chrono::milliseconds connect_timeout{15000};
  /// Default timeout of a request; a request that times out is cancelled with
  /// notifications/cancelled.
  std::chrono::milliseconds request_timeout{60000};
  /// The largest message accepted from the server, in bytes: a stdio line, an SSE event or a JSON
  /// response body. 64 MiB by default, the most a polaris reply can carry (NATS's largest max
  /// payload). A larger one fails with Error(Errc::payload_too_large): the request it answers
  /// (an HTTP response), or the whole session and every pending request (a stdio line, the
  /// event stream of the SSE transport or the Streamable HTTP GET stream). Must be positive.
  std::size_t max_message_size = std::size_t{64} * 1024 * 1024;
  Logger logger{};  ///< empty: spdlog's default logger
};

/// A notification from the server: method and params.
using NotificationHandler = std::function<void(const std::string& method, const Json& params)>;

/// An MCP client session (initialize done in the constructor). Move-only.
///
/// Thread safety: every method may be called from any thread at once; requests are matched to
/// responses by id, in any order. Notification handlers run on a transport thread.
class Client {
 public:
  /// Connects (launching a stdio server), runs initialize/initialized.
  /// @throws Error(Errc::connection_failed) when the server cannot be reached or started;
  ///         Error(Errc::protocol) when initialize fails or no common version exists.
  explicit Client(ClientOptions options);
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// The server's initialize result (protocolVersion, capabilities, serverInfo, instructions).
  [[nodiscard]] const Json& server_info() const;
  [[nodiscard]] std::string protocol_version() const;

  /// Sends a request and waits for its result.
  /// @param on_progress called with each notifications/progress params for this request (a
  ///        progress token is sent when set).
  /// @param on_log called with the params of each notifications/message (a log message of the
  ///        server) that belongs to this request: over Streamable HTTP, one the server sent on
  ///        this request's own response stream; otherwise (stdio, HTTP+SSE, the session's GET
  ///        stream: a log message carries no request id) one that arrives while this is the only
  ///        request in flight with an on_log; with several such requests in flight none receives
  ///        it (it goes to the debug log), so that no caller sees another's.
  /// @throws Error(Errc::tool_failed) for a JSON-RPC error response (message "code: message"),
  ///         Error(Errc::timeout) (after sending notifications/cancelled),
  ///         Error(Errc::connection_lost) when the server goes away,
  ///         Error(Errc::payload_too_large) when the server sent a message over
  ///         ClientOptions::max_message_size.
  Json request(const std::string& method, const Json& params = Json::object(),
               std::optional<std::chrono::milliseconds> timeout = std::nullopt,
               const std::function<void(const Json&)>& on_progress = {},
               const std::function<void(const Json&)>& on_log = {});
  void notify(const std::string& method, const Json& params = Json::object());

  /// tools/list, following pagination cursors.
  [[nodiscard]] std::vector<Json> list_tools();
  /// tools/call; returns the CallToolResult as the server sent it (isError included). on_progress
  /// and on_log as for request().
  Json call_tool(const std::string& name, const Json& arguments,
                 std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                 const std::function<void(const Json&)>& on_progress = {},
                 const std::function<void(const Json&)>& on_log = {});

  /// Handler of server notifications (tools/list_changed, message, ...). Replaces the previous.
  void on_notification(NotificationHandler handler);

  /// False once the transport ended (server exited or closed the stream).
  [[nodiscard]] bool alive() const;

  /// Closes the session (DELETE for HTTP, stops a stdio server). Idempotent.
  void close();

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

/// Options of an import.
struct ImportOptions {
  ClientOptions client{};
  /// Joined to every tool name with '_'; empty: none.
  std::string prefix{};
  /// Only these MCP tool names (before prefixing); empty: all. A name the server does not list
  /// when the import starts is an error (Errc::invalid_argument, naming the server's tools).
  std::vector<std::string> only{};
  /// Timeout of one MCP tool call made for a polaris call; when it passes (or the polaris
  /// caller's own deadline, if earlier) the MCP request is cancelled (notifications/cancelled)
  /// and the polaris call fails. The imported tools declare it as their timeout (Tool::timeout),
  /// so that polaris callers that set none wait this long.
  std::chrono::milliseconds call_timeout{60000};
};

/// The tools of one MCP server, registered as polaris tools on a connection, kept in step with
/// notifications/tools/list_changed. Destruction unregisters them and closes the MCP session.
///
/// Thread safety: every method may be called from any thread.
class Import {
 public:
  /// Connects to the MCP server, lists its tools and registers them on `connection`, which must
  /// outlive the Import.
  /// @throws Error as Client's constructor, Error(Errc::registration_failed), and
  /// Error(Errc::invalid_argument) for an `only` name the server does not have.
  Import(Connection& connection, ImportOptions options);
  ~Import();
  Import(Import&&) noexcept;
  Import& operator=(Import&&) noexcept;
  Import(const Import&) = delete;
  Import& operator=(const Import&) = delete;

  /// Names of the polaris tools registered now.
  [[nodiscard]] std::vector<std::string> tools() const;
  /// Re-lists the MCP tools and registers, re-registers or unregisters to match (also done on
  /// list_changed).
  void refresh();
  /// False once the MCP server went away.
  [[nodiscard]] bool alive() const;
  void close();

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

/// The MCP result a polaris reply becomes (the serve side's conversion; see docs/PROTOCOL.md):
/// a reply carrying `content` blocks passes them through; any other object becomes one text block
/// with its JSON plus `structuredContent`.
[[nodiscard]] Json call_result_from_reply(const Json& reply);

/// The polaris reply an MCP CallToolResult becomes (the import side's conversion): `content`,
/// `structuredContent` when present and `results` (the text blocks' texts, as the reference
/// returned them).
[[nodiscard]] Json reply_from_call_result(const Json& result);

/// Options of the MCP server.
struct ServerOptions {
  std::string name = "polaris";
  /// Tools exposed; empty: every tool of the catalogue.
  std::vector<std::string> allow{};
  /// How often the catalogue is re-read to send notifications/tools/list_changed; 0: never.
  std::chrono::milliseconds catalogue_poll{2000};
  /// Timeout of one polaris call made for tools/call.
  std::chrono::milliseconds call_timeout{60000};
  /// HTTP: required `Authorization: Bearer <token>`; empty: no auth.
  std::string bearer_token{};
  /// HTTP: extra Host header values and Origins accepted (besides localhost ones when bound to a
  /// loopback address; any Host is accepted when bound elsewhere and this is empty).
  std::vector<std::string> allowed_hosts{};
  std::vector<std::string> allowed_origins{};
  /// Requests in progress at once: stdio requests (per serve_stdio) and HTTP tools/call
  /// requests each run on a pool of at most this many threads, with at most
  /// max_queued_requests more waiting for one. A request beyond that is answered at once with
  /// the JSON-RPC error -32000 "server busy: too many requests in progress" (never dropped).
  std::size_t max_parallel_requests = 32;
  std::size_t max_queued_requests = 1024;
  Logger logger{};  ///< empty: spdlog's default logger
};

/// The cluster's tools as one MCP server. Serve over stdio (serve_stdio) or Streamable HTTP
/// (listen). The connection must outlive the Server.
///
/// Thread safety: every method may be called from any thread.
class Server {
 public:
  Server(Connection& connection, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Serves one client on newline-delimited JSON-RPC over the given descriptors until end of input
  /// or close(). Blocks.
  void serve_stdio(int in_fd = 0, int out_fd = 1);

  /// Starts Streamable HTTP on host:port (0: any free port), endpoint /mcp. Returns at once.
  /// @throws Error(Errc::invalid_argument) when the address cannot be bound.
  void listen(const std::string& host, int port);
  /// The port listen() bound; 0 before.
  [[nodiscard]] int port() const;

  /// Stops serving (closes HTTP streams, ends serve_stdio). Idempotent.
  void close();

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace polaris::mcp
