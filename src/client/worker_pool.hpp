// Internal: a bounded pool that runs one tool's calls.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace polaris::detail {

/// Runs jobs on at most `threads` threads, started on demand, with at most `max_waiting` jobs
/// waiting for a thread. A job beyond that is refused (try_submit returns false): callers learn at
/// once that the tool is busy instead of queueing behind slow calls. (A little waiting room
/// absorbs the caller whose next call arrives while the worker that answered its previous one is
/// still finishing.)
///
/// Thread safety: all methods may be called from any thread.
class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t max_waiting)
      : threads_max_(threads == 0 ? 1 : threads), max_waiting_(max_waiting) {}
  /// Waits for running jobs (see drain) and joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues `job` unless the pool is full or stopped.
  bool try_submit(std::function<void()> job);
  /// Refuses new jobs and waits up to `grace` for accepted ones to finish; true when they did.
  bool drain(std::chrono::milliseconds grace);
  /// Jobs running or waiting.
  [[nodiscard]] std::size_t load() const;
  /// True when called from one of this pool's threads (i.e. from inside one of its jobs).
  [[nodiscard]] bool on_worker_thread() const noexcept;

 private:
  void work();

  const std::size_t threads_max_;
  const std::size_t max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> queue_;
  std::size_t running_ = 0;
  std::size_t idle_threads_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace polaris::detail
