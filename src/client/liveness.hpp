// Internal: an agent's liveness towards the registry: keepalives (split to fit the max
// payload), heartbeats and resyncs, all on the connection's timer thread, none blocking it.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "client/call_mux.hpp"
#include "client/registry_channel.hpp"
#include "client/timer.hpp"
#include "client/tool_host.hpp"
#include "common/log.hpp"

namespace polaris::detail {

/// Thread safety: all methods may be called from any thread; one mutex guards the resync
/// schedule. The timer must be stopped before this is destroyed.
class Liveness {
 public:
  struct Settings {
    std::chrono::milliseconds keepalive_interval{};
    std::chrono::milliseconds heartbeat_interval{};
    std::chrono::milliseconds request_timeout{};
  };
  /// `registering`: true while a registration is being sent (heartbeats go out even before the
  /// first tool is served, as the declarations announce them).
  Liveness(natsConnection* connection, std::string agent_id, Settings settings, Timer& timer,
           CallMux& mux, RegistryChannel& registry, const ToolHost& tools,
           const std::atomic<bool>& registering, Logger log)
      : connection_(connection),
        agent_id_(std::move(agent_id)),
        settings_(settings),
        timer_(timer),
        mux_(mux),
        registry_(registry),
        tools_(tools),
        registering_(registering),
        log_(std::move(log)) {}

  /// Starts the periodic keepalives and heartbeats.
  void start();
  /// A keepalive now (the node we reached may have restarted with an empty catalogue).
  void keepalive_soon();
  /// The registry asked for a resync: a keepalive, at most one per kResyncGap.
  void request_resync();

 private:
  /// A registry asking again and again (e.g. a loop between two nodes) gets one keepalive per
  /// gap.
  static constexpr std::chrono::milliseconds kResyncGap{500};

  void send_keepalive();
  void send_heartbeat();
  void repeat(std::chrono::milliseconds interval, void (Liveness::*send)());

  natsConnection* connection_;
  const std::string agent_id_;
  const Settings settings_;
  Timer& timer_;
  CallMux& mux_;
  RegistryChannel& registry_;
  const ToolHost& tools_;
  const std::atomic<bool>& registering_;
  const Logger log_;
  std::mutex resync_mutex_;
  Timer::Clock::time_point last_resync_{};
  bool resync_scheduled_ = false;
};

}  // namespace polaris::detail
