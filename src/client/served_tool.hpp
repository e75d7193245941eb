// Internal: a tool a connection serves.
#pragma once

#include <memory>

#include "client/call_gate.hpp"
#include "client/tool_stats.hpp"
#include "client/worker_pool.hpp"
#include "polaris/tool.hpp"
#include "transport/subscription.hpp"

namespace polaris::detail {

/// Shared by the connection's tool table, its subscription callback and local calls. Members are
/// destroyed in reverse order: the subscription stops first, then the pool waits for its calls.
struct ServedTool {
  Tool tool;
  Json declaration;  // as registered and kept alive (with the `polaris` field)
  CallGate gate;
  std::unique_ptr<WorkerPool> pool;  // runs the calls; outlives the subscription
  Subscription subscription;
  std::shared_ptr<ToolStats> stats;  // [observe] calls, errors, latencies (wraps the handler)
};

}  // namespace polaris::detail
