#include "common/rfc3339.hpp"

#include <array>
#include <cstdio>
#include <ctime>

namespace polaris::detail {

std::string rfc3339(std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds);
  const std::time_t whole = seconds.count();
  std::tm utc{};
  gmtime_r(&whole, &utc);
  std::array<char, 48> text{};
  const std::size_t used = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &utc);
  std::array<char, 16> fraction{};
  std::snprintf(fraction.data(), fraction.size(), ".%09lldZ",
                static_cast<long long>(nanos.count()));
  return std::string(text.data(), used) + fraction.data();
}

}  // namespace polaris::detail
