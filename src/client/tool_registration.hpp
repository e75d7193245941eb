// Internal: registering a connection's tools, unregistering them, and revocation.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/call_server.hpp"
#include "client/registrar.hpp"
#include "client/registry_channel.hpp"
#include "client/revoked_tools.hpp"
#include "client/served_tool.hpp"
#include "client/service_discovery.hpp"  // [observe]
#include "client/tool_host.hpp"
#include "common/log.hpp"
#include "polaris/tool.hpp"

namespace polaris::detail {

/// Changes to the set of served tools, one at a time: registering (subscribe, register through
/// the Registrar, settle into the ToolHost), unregistering (drain, then leave the catalogue),
/// revocation by the registry; keeps the service-discovery endpoints in step.
///
/// Thread safety: all methods may be called from any thread; one mutex serialises the changes
/// (rare, network-bound). The timer (RevokedTools) must be stopped before this is destroyed.
class ToolRegistration {
 public:
  struct Settings {
    std::chrono::milliseconds heartbeat_interval{};
    std::chrono::milliseconds drain_timeout{};
    std::function<void(const std::string& name, const std::string& message)> on_tool_revoked;
  };
  struct Parts {
    ToolHost& tools;
    CallServer& call_server;
    Registrar& registrar;
    RegistryChannel& registry;
    Timer& timer;
  };
  ToolRegistration(natsConnection* connection, std::string agent_id, Settings settings, Parts parts,
                   const std::atomic<bool>& closed, Logger log)
      : connection_(connection),
        agent_id_(std::move(agent_id)),
        settings_(std::move(settings)),
        parts_(parts),
        revoked_(parts.timer),
        closed_(closed),
        log_(std::move(log)) {}

  void register_tools(std::vector<Tool> tools);
  void unregister_tool(std::string_view name);
  /// Withdraws every tool: from the catalogue in one request when the registry knows
  /// polaris.registry.agent.leave, else one unregistration per tool.
  void unregister_all();
  /// The registry revoked `name`: stop serving it now, let its calls in flight finish.
  void revoke(const std::string& name, const std::string& message);
  /// True while a registration is being sent: heartbeats go out even before the first tool is
  /// served, as the declarations announce them (a 10,000-tool registration takes seconds).
  [[nodiscard]] const std::atomic<bool>& registering() const { return registering_; }

  /// [observe] Answers $SRV requests for the served tools from now on.
  void start_discovery(std::unique_ptr<ServiceDiscovery> discovery);
  /// Closing: no more $SRV answers, and the revoked tools' last calls are waited for.
  void stop();

 private:
  std::shared_ptr<ServedTool> prepare(Tool tool);
  /// Subscribes to the tool subjects (calls arriving before the registration is settled wait).
  void subscribe(const std::vector<std::shared_ptr<ServedTool>>& served);
  /// Adds the tools the registry accepted; refuses the others. @throws the first failure.
  void settle(const std::vector<std::shared_ptr<ServedTool>>& served,
              const std::vector<RegistrationOutcome>& outcomes);
  /// A refused registration: stop serving and hand the held calls on to the name's owner.
  void refuse(ServedTool& tool);
  void unregister_locked(const std::string& name);
  /// Stops serving `name` and drains its calls; null when it is not served here.
  std::shared_ptr<ServedTool> withdraw_locally(const std::string& name);
  /// withdraw_locally() for every tool at once, with one drain timeout for all.
  std::vector<ToolHost::Entry> withdraw_all_locally();
  /// Removes this agent's ownership of `name` from the catalogue (logs failures).
  void unregister_remotely(const std::string& name);
  void notify_revoked(const std::string& name, const std::string& message);

  natsConnection* connection_;
  const std::string agent_id_;
  const Settings settings_;
  const Parts parts_;
  RevokedTools revoked_;
  const std::atomic<bool>& closed_;
  const Logger log_;
  std::atomic<bool> registering_{false};
  std::mutex mutex_;  // serialises register/unregister/revocation; guards discovery_
  std::unique_ptr<ServiceDiscovery> discovery_;  // [observe] $SRV.PING/INFO/STATS
};

}  // namespace polaris::detail
