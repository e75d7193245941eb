// The one logger of a polaris program, configured from flags or the environment.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "polaris/error.hpp"
#include "polaris/logging.hpp"

namespace polaris {
namespace {

void apply_env(const char* name, std::string& value) {
  // std::getenv is only unsafe against concurrent setenv; programs call this at start-up.
  const char* set = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
  if (set != nullptr && *set != '\0') value = set;
}

spdlog::level::level_enum parse_level(const std::string& level) {
  // spdlog::level::from_str maps anything unknown to "off": a typo would silence the program.
  for (const auto known : kLogLevels) {
    if (level == known) return spdlog::level::from_str(level);
  }
  throw Error(Errc::invalid_argument, "unknown log level '" + level +
                                          "' (expected trace, debug, info, warn, error or off)");
}

}  // namespace

LogSettings log_settings_from_env(LogSettings defaults) {
  apply_env("POLARIS_LOG_LEVEL", defaults.level);
  apply_env("POLARIS_LOG_FORMAT", defaults.format);
  return defaults;
}

Logger install_program_logger(std::string_view name, const LogSettings& settings) {
  const auto level = parse_level(settings.level);
  if (std::find(kLogFormats.begin(), kLogFormats.end(), settings.format) == kLogFormats.end()) {
    throw Error(Errc::invalid_argument,
                "unknown log format '" + settings.format + "' (expected text or json)");
  }
  // Not registered in spdlog's registry: a second call must not fail on the name being taken.
  auto logger = std::make_shared<spdlog::logger>(
      std::string(name), std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_level(level);
  if (settings.format == "json") logger->set_formatter(make_json_log_formatter());
  spdlog::set_default_logger(logger);
  return logger;
}

}  // namespace polaris
