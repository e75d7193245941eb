// Internal: tools the registry revoked, kept until their calls in flight finish.
#pragma once

#include <algorithm>
#include <chrono>
#include <iterator>
#include <memory>
#include <mutex>
#include <vector>

#include "client/served_tool.hpp"
#include "client/timer.hpp"

namespace polaris::detail {

/// A revoked tool takes no new calls; the ones it runs finish on their own, and the timer frees
/// the tool (joining its pool's threads) once they have.
///
/// Thread safety: all methods may be called from any thread; one mutex guards the list. The
/// timer must be stopped before this is destroyed.
class RevokedTools {
 public:
  explicit RevokedTools(Timer& timer) : timer_(timer) {}

  void add(std::shared_ptr<ServedTool> tool) {
    {
      std::lock_guard lock(mutex_);
      tools_.push_back(std::move(tool));
    }
    timer_.schedule(Timer::Clock::now(), [this] { reap(); });
  }

  /// Frees every revoked tool, waiting for their last calls.
  void clear() {
    std::vector<std::shared_ptr<ServedTool>> tools;
    {
      std::lock_guard lock(mutex_);
      tools.swap(tools_);
    }
  }

 private:
  void reap() {
    std::vector<std::shared_ptr<ServedTool>> done;
    bool more = false;
    {
      std::lock_guard lock(mutex_);
      auto idle = std::stable_partition(tools_.begin(), tools_.end(),
                                        [](const auto& tool) { return tool->pool->load() > 0; });
      std::move(idle, tools_.end(), std::back_inserter(done));
      tools_.erase(idle, tools_.end());
      more = !tools_.empty();
    }
    done.clear();  // outside the lock: joins the pools' idle threads
    if (more)
      timer_.schedule(Timer::Clock::now() + std::chrono::milliseconds(100), [this] { reap(); });
  }

  Timer& timer_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<ServedTool>> tools_;  // until their calls in flight finish
};

}  // namespace polaris::detail
