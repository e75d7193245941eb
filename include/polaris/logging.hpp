// polaris/logging.hpp - how the library logs.
//
// polaris logs through spdlog. Every options struct takes a Logger; when none is given the library
// uses spdlog's default logger, so an application that configures spdlog configures polaris too.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
class formatter;
}  // namespace spdlog

namespace polaris {

using Logger = std::shared_ptr<spdlog::logger>;

/// A spdlog formatter writing one JSON object per line:
/// {"time": "<RFC 3339 UTC>", "level": "info", "logger": "<name>", "message": "..."}
/// (levels as spdlog names them: trace, debug, info, warning, error, critical). Install it with
/// `logger->set_formatter(polaris::make_json_log_formatter())`; `polaris --log-format json` does.
std::unique_ptr<spdlog::formatter> make_json_log_formatter();

/// The values LogSettings::level and LogSettings::format accept (for a program's flag checks).
inline constexpr std::array<std::string_view, 6> kLogLevels{"trace", "debug", "info",
                                                            "warn",  "error", "off"};
inline constexpr std::array<std::string_view, 2> kLogFormats{"text", "json"};

/// How a program logs. Every polaris program (the `polaris` command and the examples) takes these
/// from its flags or from the environment, so that operators can switch a fleet to JSON lines
/// without touching command lines.
struct LogSettings {
  /// trace, debug, info, warn, error or off.
  std::string level = "warn";
  /// text, or json (see make_json_log_formatter()).
  std::string format = "text";
};

/// `defaults`, with POLARIS_LOG_LEVEL and POLARIS_LOG_FORMAT applied where they are set and not
/// empty. The values are checked by install_program_logger(), not here.
LogSettings log_settings_from_env(LogSettings defaults = {});

/// Creates the program's one logger: named `name`, writing to stderr (stdout is left to the
/// program's results), at `settings.level` and in `settings.format`. It becomes spdlog's default
/// logger, which polaris uses wherever an options struct names no logger. Throws
/// polaris::Error(invalid_argument) naming an unknown level or format. Call it once, early in
/// main(), before other threads log; a second call replaces the logger.
Logger install_program_logger(std::string_view name, const LogSettings& settings);

}  // namespace polaris
