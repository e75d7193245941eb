// Internal: timestamps as operators and NATS tooling read them.
#pragma once

#include <chrono>
#include <string>

namespace polaris::detail {

/// A system-clock time as RFC 3339 in UTC with nanoseconds, e.g. "2026-01-02T03:04:05.000000001Z".
std::string rfc3339(std::chrono::system_clock::time_point time);

}  // namespace polaris::detail
