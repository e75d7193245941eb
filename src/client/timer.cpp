#include "client/timer.hpp"

namespace polaris::detail {

Timer::Timer() : thread_([this] { run(); }) {}

Timer::~Timer() { stop(); }

Timer::Id Timer::schedule(Clock::time_point when, std::function<void()> job) {
  Id id = 0;
  bool earliest = false;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return 0;
    id = next_id_++;
    earliest = jobs_.empty() || when < jobs_.begin()->first.first;
    jobs_.emplace(std::make_pair(when, id), std::move(job));
    when_.emplace(id, when);
  }
  if (earliest) cv_.notify_one();
  return id;
}

void Timer::cancel(Id id) {
  std::lock_guard lock(mutex_);
  const auto it = when_.find(id);
  if (it == when_.end()) return;
  jobs_.erase(std::make_pair(it->second, id));
  when_.erase(it);
}

void Timer::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    jobs_.clear();
    when_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Timer::run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    if (jobs_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const auto next = jobs_.begin()->first.first;
    if (Clock::now() < next) {
      cv_.wait_until(lock, next);
      continue;
    }
    auto node = jobs_.extract(jobs_.begin());
    when_.erase(node.key().second);
    lock.unlock();
    try {
      node.mapped()();
    } catch (...) {  // NOLINT(bugprone-empty-catch): jobs report their own failures
    }
    lock.lock();
  }
}

}  // namespace polaris::detail
