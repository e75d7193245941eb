// Test support: a CPU load beside a test, for timing-sensitive promises.
#pragma once

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "process/child_process.hpp"

namespace polaris::test {

/// `per_core` processes per core that spin until destroyed (the ChildProcess destructor ends
/// them).
class CpuLoad {
 public:
  explicit CpuLoad(unsigned per_core = 1) {
    const unsigned cores = std::max(2U, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < cores * per_core; ++i) {
      spinners_.push_back(std::make_unique<detail::ChildProcess>(
          detail::ChildProcessOptions{.argv = {"/bin/sh", "-c", "while :; do :; done"}}));
    }
  }

 private:
  std::vector<std::unique_ptr<detail::ChildProcess>> spinners_;
};

}  // namespace polaris::test
