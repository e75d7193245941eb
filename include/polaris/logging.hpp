// polaris/logging.hpp - how the library logs.
//
// polaris logs through spdlog. Every options struct takes a Logger; when none is given the library
// uses spdlog's default logger, so an application that configures spdlog configures polaris too.
#pragma once

#include <memory>

namespace spdlog {
class logger;
}  // namespace spdlog

namespace polaris {

using Logger = std::shared_ptr<spdlog::logger>;

}  // namespace polaris
