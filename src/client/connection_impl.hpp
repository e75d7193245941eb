// Internal: the state behind polaris::Connection.
#pragma once

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "client/call_gate.hpp"
#include "client/service_discovery.hpp"  // [observe]
#include "client/tool_stats.hpp"         // [observe]
#include "client/worker_pool.hpp"
#include "polaris/connection.hpp"
#include "transport/nats_handles.hpp"
#include "transport/request_mux.hpp"
#include "transport/subscription.hpp"

namespace polaris {

/// Thread safety: all public methods may be called from any thread at once. nats.c calls the
/// on_* event methods on its connection-events thread.
class Connection::Impl {
 public:
  explicit Impl(ConnectOptions options);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void register_tool(Tool tool);
  void unregister_tool(std::string_view name);
  void unregister_all();
  std::vector<std::string> local_tools() const;
  std::vector<ToolDeclaration> list_tools();
  Json call(std::string_view name, const Json& arguments, CallOptions options);
  std::future<Json> call_async(std::string_view name, const Json& arguments, CallOptions options);
  std::string connected_url() const;
  bool connected() const;
  std::int64_t max_payload() const;
  void close();

  // nats.c connection events.
  void on_disconnected();
  void on_reconnected();
  void on_closed();

 private:
  /// A tool this connection serves. Shared with its subscription callback and local calls.
  struct LocalTool {
    Tool tool;
    Json declaration;
    detail::CallGate gate;
    std::unique_ptr<detail::WorkerPool> pool;  // runs the calls; outlives the subscription
    detail::Subscription subscription;
    std::shared_ptr<detail::ToolStats> stats;  // [observe] calls, errors, latencies
  };

  std::shared_ptr<LocalTool> find_local(std::string_view name) const;
  /// True inside a handler of one of this connection's tools.
  bool on_own_handler_thread() const;
  /// Sends a request to the registry and returns its parsed JSON reply.
  Json registry_request(std::string_view subject, const Json& body);
  /// Sends register/unregister and throws registration_failed when the registry says no.
  void registry_status_request(std::string_view subject, const Json& body);
  void remote_call(const std::string& name, const Json& arguments, CallOptions options,
                   std::function<void(Json)> on_value,
                   std::function<void(std::exception_ptr)> on_error);
  void unregister_locked(const std::string& name);
  void run_keepalive();
  std::chrono::milliseconds timeout_of(const CallOptions& options) const;

  ConnectOptions options_;
  Logger log_;
  detail::NatsConnectionPtr connection_;
  std::unique_ptr<detail::RequestMux> mux_;
  /// mux_ as seen by nats.c's event thread: set once the mux exists, cleared when it closes.
  std::atomic<detail::RequestMux*> mux_ready_{nullptr};
  std::atomic<bool> closed_{false};

  std::mutex registration_mutex_;          // serialises register/unregister (rare, network-bound)
  mutable std::shared_mutex tools_mutex_;  // guards tools_ (read on every call)
  std::map<std::string, std::shared_ptr<LocalTool>, std::less<>> tools_;

  std::mutex keepalive_mutex_;
  std::condition_variable keepalive_cv_;
  bool keepalive_now_ = false;
  bool keepalive_stop_ = false;
  std::thread keepalive_thread_;

  std::promise<void> closed_event_;
  std::unique_ptr<detail::ServiceDiscovery> discovery_;  // [observe] $SRV.PING/INFO/STATS
};

}  // namespace polaris
