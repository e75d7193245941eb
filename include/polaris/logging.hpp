// polaris/logging.hpp - how the library logs.
//
// polaris logs through spdlog. Every options struct takes a Logger; when none is given the library
// uses spdlog's default logger, so an application that configures spdlog configures polaris too.
#pragma once

#include <memory>

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

}  // namespace polaris
