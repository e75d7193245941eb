// Internal: what `polaris status` and `polaris stats` share: a plain NATS connection and tables.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/output.hpp"  // format_table
#include "transport/nats_handles.hpp"

namespace polaris::cli {

/// Connects a plain NATS connection (these commands gather many replies to one request, which
/// the Connection API does not offer). On failure prints "error: ...", sets `exit_code` to
/// kCannotConnect and returns nullopt.
std::optional<detail::NatsConnectionPtr> connect_plain(const std::vector<std::string>& servers,
                                                       int& exit_code);

/// "0.012" style milliseconds with 3 significant decimals.
std::string format_ms(double milliseconds);

/// "3d04h", "2h05m", "4m09s", "12s".
std::string format_uptime(double seconds);

}  // namespace polaris::cli
