// Test support: reading one sample out of Prometheus text metrics.
#pragma once

#include <optional>
#include <sstream>
#include <string>

namespace polaris::test {

/// The value of the sample `series` (name and labels exactly as printed), or nullopt.
inline std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

}  // namespace polaris::test
