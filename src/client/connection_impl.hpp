// Internal: the state behind polaris::Connection.
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "client/call_gate.hpp"
#include "client/call_mux.hpp"
#include "client/call_server.hpp"
#include "client/caller.hpp"
#include "client/liveness.hpp"
#include "client/registrar.hpp"
#include "client/registry_channel.hpp"
#include "client/reply_recovery.hpp"
#include "client/served_tool.hpp"
#include "client/service_discovery.hpp"  // [observe]
#include "client/timer.hpp"
#include "client/tool_directory.hpp"
#include "client/tool_host.hpp"
#include "client/tool_registration.hpp"
#include "client/tool_stats.hpp"  // [observe]
#include "client/worker_pool.hpp"
#include "polaris/connection.hpp"
#include "protocol/wire.hpp"
#include "transport/nats_handles.hpp"
#include "transport/subscription.hpp"

namespace polaris {

/// Thread safety: all public methods may be called from any thread at once. nats.c calls the
/// on_* event methods on its connection-events thread; subscription callbacks run on their
/// delivery threads; heartbeats, keepalives, acks and the reaping of revoked tools run on the
/// timer's thread.
///
/// A facade over parts with one job each: the CallMux (the call policy), the Caller, the
/// RegistryChannel, the ToolDirectory (listing, declared timeouts), the Registrar, the ToolHost
/// (the served tools), the CallServer (taking calls), the ReplyRecovery and the Liveness. What
/// remains here is wiring them together: set-up, connection events, routing the agent's own
/// subjects, local calls and close. The ToolRegistration changes the set of served tools.
class Connection::Impl {
 public:
  explicit Impl(ConnectOptions options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void register_tools(std::vector<Tool> tools) { registration_->register_tools(std::move(tools)); }
  void unregister_tool(std::string_view name) { registration_->unregister_tool(name); }
  void unregister_all() { registration_->unregister_all(); }
  std::vector<std::string> local_tools() const { return tools_.names(); }
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

  /// Creates the parts, each after those it refers to.
  void create_parts();
  /// The subscriptions of the connection's own subjects (direct calls, control, recovery).
  void subscribe_events();
  /// polaris.registry.agent.gone: the gone agent's calls are retried elsewhere or end.
  void on_agent_gone(const detail::NatsMsgPtr& msg);
  /// A local call's timeout: CallOptions::timeout, else the tool's declared one, else
  /// ConnectOptions::request_timeout.
  std::chrono::milliseconds local_timeout(const ServedTool& local,
                                          const CallOptions& options) const;
  /// Runs a call of a tool of this connection on the calling thread.
  static Json call_locally(const std::shared_ptr<ServedTool>& local, const Json& arguments,
                           const CallOptions& options,
                           std::chrono::steady_clock::time_point deadline,
                           const std::atomic<bool>* closing, const Logger& log);

  /// polaris.agent.<id>.>: direct calls, resync and revocation.
  void on_agent_message(detail::NatsMsgPtr msg);

  ConnectOptions options_;
  Logger log_;
  const std::string agent_id_;
  detail::NatsConnectionPtr connection_;
  std::unique_ptr<detail::CallMux> mux_;
  /// mux_ as seen by nats.c's event thread: set once the mux exists, cleared when it closes.
  std::atomic<detail::CallMux*> mux_ready_{nullptr};
  std::atomic<bool> closed_{false};

  // Declared before the timer, so destroyed after it: the timer's jobs use it.
  std::unique_ptr<detail::CallServer> call_server_;
  std::unique_ptr<detail::Timer> timer_;  // stopped first in close(): its jobs use the rest
  std::unique_ptr<detail::RegistryChannel> registry_;
  std::unique_ptr<detail::ToolDirectory> directory_;  // listing, declared timeouts
  std::unique_ptr<detail::Registrar> registrar_;
  std::unique_ptr<detail::ReplyRecovery> recovery_;
  std::unique_ptr<detail::Caller> caller_;
  std::unique_ptr<detail::ToolRegistration> registration_;
  std::unique_ptr<detail::Liveness> liveness_;

  detail::ToolHost tools_;

  detail::Subscription agent_subscription_;    // polaris.agent.<id>.> (direct calls, control)
  detail::Subscription gone_subscription_;     // polaris.registry.agent.gone
  detail::Subscription back_subscription_;     // polaris.agent.back
  detail::Subscription ask_subscription_;      // polaris.agent.ask
  detail::Subscription answers_subscription_;  // <mux inbox>.back: answers to our asks

  std::promise<void> closed_event_;
};

}  // namespace polaris
