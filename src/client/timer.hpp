// Internal: one thread that runs short jobs at given times (acks, heartbeats, keepalives).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace polaris::detail {

/// Runs each scheduled job once, at or after its time, on the timer's own thread. Jobs must be
/// quick and must not block (they delay every later job); they may schedule and cancel jobs.
///
/// Thread safety: all methods may be called from any thread, including from inside a job.
class Timer {
 public:
  using Clock = std::chrono::steady_clock;
  using Id = std::uint64_t;

  Timer();
  /// Stops (see stop()).
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  /// Runs `job` at `when`; returns an id for cancel(), or 0 once stopped (the job never runs).
  Id schedule(Clock::time_point when, std::function<void()> job);
  /// Forgets a job that has not started; does nothing for a job that ran or is running.
  void cancel(Id id);
  /// Drops the jobs that have not run and joins the thread (after a running job finishes).
  /// Idempotent; must not be called from inside a job.
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable cv_;
  // (time, id) -> job: ordered by time, ties by scheduling order.
  std::map<std::pair<Clock::time_point, Id>, std::function<void()>> jobs_;
  std::map<Id, Clock::time_point> when_;
  Id next_id_ = 1;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace polaris::detail
