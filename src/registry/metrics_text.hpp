// Internal: Prometheus text exposition (format 0.0.4) of a node's status and the agents' stats.
#pragma once

#include <string>
#include <vector>

#include "polaris/json.hpp"

namespace polaris::detail {

/// Renders `status` (build_status) and the $SRV.STATS answers of polaris agents (ADR-32
/// stats_response objects; others are skipped) as Prometheus text. Metric names are listed in
/// docs/OPERATIONS.md. Never throws for malformed answers: what cannot be read is left out.
std::string render_metrics(const Json& status, const std::vector<Json>& agent_stats);

}  // namespace polaris::detail
