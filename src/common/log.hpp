// Internal: the logger every component uses.
#pragma once

#include <spdlog/spdlog.h>

#include "polaris/logging.hpp"

namespace polaris::detail {

/// The given logger, or spdlog's default one when none was given.
inline Logger logger_or_default(const Logger& logger) {
  return logger ? logger : spdlog::default_logger();
}

}  // namespace polaris::detail
