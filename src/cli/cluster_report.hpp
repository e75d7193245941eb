// Internal: one round of what `polaris status` and `polaris stats` gather, as JSON, shared with
// `polaris console`.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "polaris/json.hpp"

namespace polaris::cli {

/// Asks every registry node for its status (polaris.registry.status) and returns
/// {"nodes": [status, ...] sorted by name, "missing": [{node, server_id, state, reported_by}],
/// "left": [{node, server_id}]}. `known` maps the names of nodes seen in earlier rounds to their
/// server ids (updated here), so that a node that went away is reported as missing even when no
/// peer remembers it. Collects answers until none came for `quiet`.
/// @throws Error when the request cannot be sent.
Json gather_status(natsConnection* connection, std::chrono::milliseconds quiet,
                   std::map<std::string, std::string>& known);

/// The rows `polaris stats` shows: one per (tool, agent), from every agent's $SRV.STATS answer,
/// sorted: {tool, agent, calls, errors, busy, in_flight, latency_ms, last_error}. `only_tool`
/// empty: every tool.
/// @throws Error when the request cannot be sent.
Json gather_stats(natsConnection* connection, std::chrono::milliseconds quiet,
                  const std::string& only_tool = {});

}  // namespace polaris::cli
