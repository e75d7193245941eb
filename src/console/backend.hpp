// Internal: what the web console shows and does, behind its HTTP API (src/console/server.cpp).
// The cluster side is the CLI's (src/cli/cmd_console.cpp); this keeps the HTTP server free of
// NATS, so that it depends only on JSON.
#pragma once

#include <functional>
#include <future>
#include <string>

#include "polaris/json.hpp"

namespace polaris::console {

/// Thread safety: every method may be called from any thread at once (each HTTP request runs on
/// its own thread).
class Backend {
 public:
  virtual ~Backend() = default;

  /// {"version", "user", "servers", "connected_url", ...}: what the page shows in its header.
  [[nodiscard]] virtual Json info() = 0;
  /// {"nodes", "missing", "left"} as `polaris status --output json` prints them, plus "notice"
  /// (a string: why nothing is shown, e.g. admin-only) and "updated_ms" (milliseconds since
  /// the last refresh).
  [[nodiscard]] virtual Json status() = 0;
  /// {"tools": [declaration + "agents": [...]], "notice"}.
  [[nodiscard]] virtual Json tools() = 0;
  /// {"rows": [as `polaris stats`, plus "call_rate" and "error_rate" per second], "notice"}.
  [[nodiscard]] virtual Json stats() = 0;
  /// Calls `tool`; `on_progress` receives its progress and log messages (a library thread) while
  /// it runs. The future holds the reply or throws polaris::Error.
  [[nodiscard]] virtual std::future<Json> call(const std::string& tool, const Json& arguments,
                                               std::function<void(const Json&)> on_progress) = 0;
};

}  // namespace polaris::console
