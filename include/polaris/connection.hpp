// polaris/connection.hpp - a connection to a polaris cluster: register tools, list, call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "polaris/tool.hpp"

namespace polaris {

template <class R>
class TypedFuture;

/// TLS settings for a connection. Any field set turns TLS on.
struct TlsOptions {
  std::string ca_file{};            ///< CA bundle used to verify the server; empty: system default
  std::string cert_file{};          ///< client certificate (PEM) for mutual TLS; empty: none
  std::string key_file{};           ///< client key (PEM); required with cert_file
  std::string expected_hostname{};  ///< empty: the host of the URL
  bool skip_verify = false;         ///< never verify the server (testing only)
};

/// Options of connect(). Every field has a working default.
struct ConnectOptions {
  /// NATS URLs of registry nodes, e.g. "nats://127.0.0.1:4222". Empty: the comma-separated
  /// list in $POLARIS_SERVERS, else nats://127.0.0.1:4222.
  std::vector<std::string> servers{};
  /// Connection name shown by the server; empty: the host name.
  std::string name{};
  std::string user{};  ///< user/password auth; empty: none
  std::string password{};
  std::string token{};  ///< token auth; empty: none
  /// Prefix of this connection's reply subjects ("<prefix>.<unique id>.<n>"). Empty:
  /// "_INBOX.<user>" when `user` is a valid subject token, else "_INBOX". A registry with roles
  /// lets each user subscribe only below "_INBOX.<user>" (docs/SECURITY.md).
  std::string inbox_prefix{};
  std::optional<TlsOptions> tls{};
  std::chrono::milliseconds connect_timeout{2000};
  bool reconnect = true;
  int max_reconnects = -1;  ///< -1: unlimited
  std::chrono::milliseconds reconnect_wait{1000};
  /// Default timeout of call() and of registry requests.
  std::chrono::milliseconds request_timeout{5000};
  /// How long register_tool() and register_tools() wait for a registry. A registration that
  /// finds no registry (none has started yet, or none answers the subject) or gets no answer
  /// within request_timeout is sent again, and one in flight when the connection drops is sent
  /// again after the reconnect, as calls are, until this much time has passed since
  /// registering began; then it fails with Errc::no_registry (or the last error). Sending a
  /// registration again is harmless: a registry accepts an agent's repeat of its own
  /// registration. 0: one attempt.
  std::chrono::milliseconds registry_wait{30000};
  /// Try servers in random order so that clients spread over the nodes. false: the order given
  /// (the reference's behaviour).
  bool randomize = true;
  /// Do not receive our own publications (the reference's default).
  bool no_echo = true;
  /// How often registered tools are re-sent on polaris:tool:keepalive. 0: never. A keepalive
  /// larger than the server's max payload is sent as several requests.
  std::chrono::milliseconds keepalive_interval{10000};
  /// How often the agent publishes its heartbeat (polaris.agent.heartbeat) while it serves tools;
  /// a polaris registry declares an agent gone after about 3 s of silence. 0: never.
  std::chrono::milliseconds heartbeat_interval{1000};
  /// How incoming messages reach this connection's callbacks. 0: nats.c's default, a thread per
  /// subscription (one per registered tool). N > 0: nats.c's shared delivery pool, grown to at
  /// least N threads (the pool is shared by every connection of the process that uses it), so an
  /// agent with 10,000 tools does not run 10,000 threads. Handlers still run on the tools'
  /// worker pools either way; `CallOptions::on_progress` then runs on a pool thread and must
  /// be quick. See docs/BENCHMARKS.md for the cost of each.
  int delivery_pool_threads = 0;
  /// Called when the registry revokes one of this connection's tools (it lost a registration
  /// race after all): the tool is no longer served (calls in flight finish) and no longer kept
  /// alive. Runs on a library thread; must not block long. Empty: only a warning is logged.
  std::function<void(const std::string& name, const std::string& message)> on_tool_revoked{};
  /// On close, how long to let calls in flight finish (after no new call is taken) before the
  /// tools are unregistered.
  std::chrono::milliseconds drain_timeout{10000};
  Logger logger{};  ///< empty: spdlog's default logger
};

/// Builds "nats://host:port".
std::string server_url(std::string_view host, int port);

/// Per-call options.
struct CallOptions {
  /// empty: the tool's declared timeout (Tool::timeout), else ConnectOptions::request_timeout.
  /// The declaration is learnt from list_tools(); a connection that did not list it asks the
  /// registry for that one declaration before the tool's first call (one round trip, at most
  /// 1 s, remembered until the next list_tools()). Bounds the call's every attempt together.
  std::optional<std::chrono::milliseconds> timeout{};
  /// When the connection drops mid-call, keep the call and re-send it (same call id) once the
  /// connection is back, instead of failing with connection_lost at once: to the agent that
  /// acknowledged it, else to any agent of the tool. If that agent is gone, an idempotent tool
  /// is retried on another replica and any other call fails with Errc::outcome_unknown.
  /// polaris agents run a call id once; a reference (Go) agent may run a retried call twice.
  bool retry = true;
  /// Receives the tool's progress and log messages while the call runs (see Request::progress
  /// and Request::log; docs/PROTOCOL.md, Polaris-Progress), on a library thread, before the reply.
  /// empty: the call asks for none.
  std::function<void(const Json& message)> on_progress{};
  /// The LLM agents this call has passed through (sent as the Polaris-Chain header); normally
  /// filled by on_behalf_of().
  std::vector<std::string> chain{};
};

/// Options for a call that a tool handler makes on behalf of the call it serves: the call's
/// remaining deadline bounds `options.timeout` (which is set to it when empty), and its chain of
/// LLM agents travels on. An LLM agent appends its own name to `chain` afterwards.
/// @throws Error(Errc::timeout) when the served call's deadline has already passed.
CallOptions on_behalf_of(const Request& request, CallOptions options = {});

/// A connection to the cluster. Move-only; destruction closes it (see close()).
///
/// Thread safety: every method may be called from any thread at once, including from inside a
/// tool handler. Handlers run on a per-tool pool of library threads (Tool::concurrency);
/// on_tool_revoked and progress callbacks run on library delivery threads; heartbeats,
/// keepalives and acknowledgements are sent from one timer thread per connection.
/// Closing (or destroying) a connection stops taking calls, lets calls in flight finish (up to
/// drain_timeout), then unregisters its tools.
class Connection {
 public:
  /// Connects to the first reachable server.
  /// @throws Error(Errc::connection_failed) when no server can be reached;
  ///         Error(Errc::invalid_argument) for bad options.
  explicit Connection(ConnectOptions options);
  ~Connection();
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Registers `tool` with the registry and starts serving it. Waits up to
  /// ConnectOptions::registry_wait for a registry to answer (see there).
  /// @throws Error(Errc::invalid_argument) for a bad name or a missing handler;
  ///         Error(Errc::registration_failed) when the registry refuses (nothing stays subscribed);
  ///         Error(Errc::no_registry) when no registry answered within registry_wait.
  void register_tool(Tool tool);
  /// Registers several tools at once: one polaris.registry.register request per max payload's
  /// worth of declarations (one polaris:tool:register per tool against a registry without it).
  /// The tools the registry accepts are served even when others are refused.
  /// @throws Error(Errc::invalid_argument) for a bad or duplicate tool (nothing is registered);
  ///         Error(Errc::registration_failed) naming the refused tools; another Error when a
  ///         request failed (timeout, no_registry, ...): its tools are not served.
  void register_tools(std::vector<Tool> tools);
  /// Registers a typed tool: register_tool(make_tool(name, description, handler)). Defined in
  /// polaris/typed.hpp (included by polaris/polaris.hpp), as are the typed call and call_async.
  template <class F>
  void register_tool(std::string name, std::string description, F handler);
  /// Unregisters one tool of this connection and stops serving it (after its calls in flight).
  /// @throws Error(Errc::invalid_argument) when `name` is not a tool of this connection, or when
  ///         called from inside that tool's own handler.
  void unregister_tool(std::string_view name);
  /// Unregisters every tool of this connection (after their calls in flight), with one request
  /// to a polaris registry whatever their number.
  void unregister_all();
  /// Names of the tools this connection serves.
  [[nodiscard]] std::vector<std::string> local_tools() const;

  /// The registry's catalogue, page by page through polaris.registry.list (in one request to a
  /// registry without it). Remembers the tools' declared timeouts for call().
  /// @throws Error(Errc::no_registry), Error(Errc::protocol) for a malformed answer, or timeout.
  [[nodiscard]] std::vector<ToolDeclaration> list_tools();

  /// Calls a tool and waits for its reply. A tool of this connection runs locally.
  /// @throws Error with Errc::no_such_tool, timeout, tool_failed (the `_error` message), busy,
  ///         connection_lost (with retry off, or when nats.c gives up reconnecting),
  ///         outcome_unknown, payload_too_large or not_connected.
  Json call(std::string_view name, const Json& arguments = Json::object(),
            const CallOptions& options = {});
  /// Same as call(), without blocking; the future holds the reply or the Error.
  std::future<Json> call_async(std::string_view name, const Json& arguments = Json::object(),
                               const CallOptions& options = {});
  /// Typed call: `arguments` is a described struct (or Json), the reply is parsed as R (a
  /// described struct, or Json). @throws what call() throws, and Error(Errc::protocol) when the
  /// reply does not match R.
  template <class R, class A>
  R call(std::string_view name, const A& arguments, const CallOptions& options = {});
  /// Typed call of a tool without arguments.
  template <class R>
  R call(std::string_view name);
  /// Typed call_async: get() returns R.
  template <class R, class A>
  TypedFuture<R> call_async(std::string_view name, const A& arguments,
                            const CallOptions& options = {});

  /// The URL of the server currently connected to; empty while disconnected.
  [[nodiscard]] std::string connected_url() const;
  [[nodiscard]] bool connected() const;
  /// The server's max payload in bytes.
  [[nodiscard]] std::int64_t max_payload() const;
  /// This connection's agent id (22 characters [A-Za-z0-9], random): it names the connection's
  /// tools in the catalogue, its direct subjects and its calls' ids.
  [[nodiscard]] const std::string& agent_id() const;

  /// Stops taking calls, lets calls in flight finish (drain_timeout), unregisters this
  /// connection's tools (best effort) and closes. Idempotent.
  /// @throws Error(Errc::invalid_argument) when called from inside one of its tool handlers.
  void close();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Connects; same as Connection{options}.
inline Connection connect(ConnectOptions options = {}) { return Connection{std::move(options)}; }

}  // namespace polaris
