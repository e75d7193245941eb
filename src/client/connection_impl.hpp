// Internal: the state behind polaris::Connection.
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "client/call_gate.hpp"
#include "client/call_server.hpp"
#include "client/served_tool.hpp"
#include "client/service_discovery.hpp"  // [observe]
#include "client/timer.hpp"
#include "client/tool_stats.hpp"  // [observe]
#include "client/worker_pool.hpp"
#include "polaris/connection.hpp"
#include "protocol/wire.hpp"
#include "transport/nats_handles.hpp"
#include "transport/request_mux.hpp"
#include "transport/subscription.hpp"

namespace polaris {

/// Thread safety: all public methods may be called from any thread at once. nats.c calls the
/// on_* event methods on its connection-events thread; subscription callbacks run on their
/// delivery threads; heartbeats, keepalives, acks and the reaping of revoked tools run on the
/// timer's thread.
///
/// The implementation is spread over connection.cpp (set-up, calls, close), connection_tools.cpp
/// (registering, serving, revocation), connection_liveness.cpp (keepalives, heartbeats, resync)
/// and connection_list.cpp (listing, declared timeouts).
class Connection::Impl {
 public:
  explicit Impl(ConnectOptions options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void register_tools(std::vector<Tool> tools);
  void unregister_tool(std::string_view name);
  /// Withdraws every tool: from the catalogue in one request when the registry knows
  /// polaris.registry.agent.leave, else one unregistration per tool.
  void unregister_all();
  std::vector<std::string> local_tools() const;
  std::vector<ToolDeclaration> list_tools();
  Json call(std::string_view name, const Json& arguments, const CallOptions& options);
  std::future<Json> call_async(std::string_view name, const Json& arguments,
                               const CallOptions& options);
  std::string connected_url() const;
  bool connected() const;
  std::int64_t max_payload() const;
  const std::string& agent_id() const { return agent_id_; }
  void close();

  // nats.c connection events.
  void on_disconnected();
  void on_reconnected();
  void on_closed();
  /// An error nats.c reports after the fact; `subject`: the subscription's, or empty.
  void on_async_error(natsStatus status, const std::string& subject, const std::string& reason);

 private:
  using ServedTool = detail::ServedTool;
  /// How one registration ended: accepted, refused (the registry's message), or failed.
  using Outcome = std::variant<std::monostate, std::string, Error>;

  std::shared_ptr<ServedTool> find_local(std::string_view name) const;
  /// True inside a handler of one of this connection's tools.
  bool on_own_handler_thread() const;
  /// How a registry request is sent: its timeout (empty: request_timeout) and whether a
  /// disconnect keeps it for the reconnect instead of failing it (registrations).
  struct RegistryAttempt {
    std::optional<std::chrono::milliseconds> timeout;
    bool retry = false;
  };
  /// Sends a request to the registry and returns its parsed JSON reply.
  Json registry_request(std::string_view subject, const std::string& body,
                        const RegistryAttempt& attempt);
  Json registry_request(std::string_view subject, const std::string& body) {
    return registry_request(subject, body, RegistryAttempt{});
  }
  /// Sends register/unregister and throws registration_failed when the registry says no.
  void registry_status_request(std::string_view subject, const Json& body);
  void remote_call(const std::string& name, const Json& arguments, const CallOptions& options,
                   std::function<void(Json)> on_value,
                   std::function<void(std::exception_ptr)> on_error);
  /// Sends a call whose timeout is decided.
  void send_call(const std::string& name, const std::string& body, const CallOptions& options,
                 std::chrono::milliseconds timeout, std::function<void(Json)> on_value,
                 std::function<void(std::exception_ptr)> on_error);
  void unregister_locked(const std::string& name);
  /// Stops serving `name` and drains its calls; null when it is not served here.
  std::shared_ptr<ServedTool> withdraw_locally(const std::string& name);
  /// withdraw_locally() for every tool at once, with one drain timeout for all.
  std::vector<std::pair<std::string, std::shared_ptr<ServedTool>>> withdraw_all_locally();
  /// Removes this agent's ownership of `name` from the catalogue (logs failures).
  void unregister_remotely(const std::string& name);

  /// A call's timeout: CallOptions::timeout, else the tool's declared one (a local tool's, or
  /// learnt from list_tools() or a lookup), else ConnectOptions::request_timeout.
  std::chrono::milliseconds timeout_of(std::string_view name, const CallOptions& options) const;
  /// timeout_of(), or nullopt while the registry has not been asked for the tool's declaration.
  std::optional<std::chrono::milliseconds> known_timeout(std::string_view name,
                                                         const CallOptions& options) const;

  // Registration (connection_tools.cpp).
  std::shared_ptr<ServedTool> prepare(Tool tool);
  /// Registers `tools`, sending again those that found no registry until registry_wait.
  std::vector<Outcome> register_declarations(const std::vector<std::shared_ptr<ServedTool>>& tools);
  /// One attempt: the user's own subject, else the shared batch subject, else (no registry
  /// answers it) one request per tool.
  std::vector<Outcome> register_once(const std::vector<std::shared_ptr<ServedTool>>& tools,
                                     std::chrono::milliseconds timeout);
  /// polaris.registry.register, else (a Go registry) one reference registration per tool.
  std::vector<Outcome> register_shared(const std::vector<std::shared_ptr<ServedTool>>& tools,
                                       std::chrono::milliseconds timeout);
  std::vector<Outcome> register_batch(const std::vector<std::shared_ptr<ServedTool>>& tools,
                                      const std::string& subject,
                                      std::chrono::milliseconds timeout);
  std::vector<Outcome> register_one_by_one(const std::vector<std::shared_ptr<ServedTool>>& tools,
                                           std::chrono::milliseconds timeout);
  /// A refused registration: stop serving and hand the held calls on to the name's owner.
  void refuse(ServedTool& tool);
  void on_agent_message(detail::NatsMsgPtr msg);
  void revoke(const std::string& name, const std::string& message);
  void reap_revoked();

  /// Where registry write requests go: this user's own subject for `verb`
  /// (wire::user_subject, which proves the sender under roles), or `shared` for a connection
  /// without a user name or once a registry answered only on the shared subjects.
  std::string write_subject(std::string_view verb, std::string_view shared) const;

  // Liveness (connection_liveness.cpp).
  void start_liveness();
  void send_keepalive();
  void send_heartbeat();
  void request_resync();
  /// After a reconnect, an agent names the reply subjects of the calls whose replies may be
  /// lost, so that their callers send those calls again (see wire::kAgentBackSubject).
  /// `to`: where (kAgentBackSubject, or the reply subject of a caller's ask).
  void announce_back(const std::vector<std::string>& reply_subjects,
                     std::string_view to = wire::kAgentBackSubject);
  /// An agent named reply subjects (on kAgentBackSubject, or answering our ask): ours among them
  /// are re-sent to it.
  void on_agent_back(detail::NatsMsgPtr msg);
  /// A caller asks for its calls (wire::kCallerAskSubject): answered below its own inbox only.
  void on_caller_ask(detail::NatsMsgPtr msg);
  /// The server refused a publication to `reply_subject`: its caller is asked, with the others
  /// refused within a few milliseconds, to send the call again (announce_back).
  void ask_again(const std::string& reply_subject);
  void keepalive_soon();

  // Listing (connection_list.cpp).
  std::vector<ToolDeclaration> list_paged();
  std::vector<ToolDeclaration> list_reference();
  void remember_timeouts(const std::vector<ToolDeclaration>& tools);
  /// Asks the registry for the declaration of `name` alone and remembers its timeout, then runs
  /// `then` (on a library thread), whatever the answer: a failed lookup leaves the default.
  void look_up_timeout(const std::string& name, std::function<void()> then);

  ConnectOptions options_;
  Logger log_;
  const std::string agent_id_;
  const std::string user_;  // the user name when it is a subject token, else empty
  /// False once a registry answered only on the shared write subjects (older than the per-user
  /// subjects, or a Go registry): the connection then writes there (write_subject).
  std::atomic<bool> user_subjects_{true};
  detail::NatsConnectionPtr connection_;
  std::unique_ptr<detail::RequestMux> mux_;
  /// mux_ as seen by nats.c's event thread: set once the mux exists, cleared when it closes.
  std::atomic<detail::RequestMux*> mux_ready_{nullptr};
  std::atomic<bool> closed_{false};
  std::atomic<std::uint64_t> call_sequence_{0};

  // Declared before the timer, so destroyed after it: the timer's jobs use it.
  std::unique_ptr<detail::CallServer> call_server_;
  std::unique_ptr<detail::Timer> timer_;  // stopped first in close(): its jobs use the rest

  std::mutex registration_mutex_;  // serialises register/unregister (rare, network-bound)
  // A registration is being sent: heartbeats go out even before the first tool is served, as
  // the declarations announce them (a 10,000-tool registration takes seconds).
  std::atomic<bool> registering_{false};
  mutable std::shared_mutex tools_mutex_;  // guards tools_ (read on every call)
  std::map<std::string, std::shared_ptr<ServedTool>, std::less<>> tools_;
  std::mutex revoked_mutex_;
  std::vector<std::shared_ptr<ServedTool>> revoked_;  // until their calls in flight finish

  mutable std::mutex timeouts_mutex_;
  /// Declared timeouts of the tools listed or looked up (0: none declared).
  std::map<std::string, std::chrono::milliseconds, std::less<>> declared_timeouts_;
  /// No registry answers lookups (e.g. a reference registry): calls use the default at once.
  bool timeout_lookups_unsupported_ = false;

  std::mutex resync_mutex_;
  detail::Timer::Clock::time_point last_resync_{};
  bool resync_scheduled_ = false;

  std::mutex refused_mutex_;
  std::vector<std::string> refused_replies_;  // to announce_back(); a flush is scheduled if any

  detail::Subscription agent_subscription_;    // polaris.agent.<id>.> (direct calls, control)
  detail::Subscription gone_subscription_;     // polaris.registry.agent.gone
  detail::Subscription back_subscription_;     // polaris.agent.back
  detail::Subscription ask_subscription_;      // polaris.agent.ask
  detail::Subscription answers_subscription_;  // <mux inbox>.back: answers to our asks

  std::promise<void> closed_event_;
  std::unique_ptr<detail::ServiceDiscovery> discovery_;  // [observe] $SRV.PING/INFO/STATS
};

}  // namespace polaris
