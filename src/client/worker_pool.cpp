#include "client/worker_pool.hpp"

namespace polaris::detail {
namespace {

// The pool whose job this thread is running (each worker thread belongs to one pool for life).
thread_local const WorkerPool* current_pool = nullptr;

}  // namespace

bool WorkerPool::on_worker_thread() const noexcept { return current_pool == this; }

WorkerPool::~WorkerPool() {
  drain(std::chrono::hours(24));
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& thread : threads_) thread.join();
}

bool WorkerPool::try_submit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || running_ + queue_.size() >= threads_max_ + max_waiting_) return false;
    queue_.push_back(std::move(job));
    if (idle_threads_ == 0 && threads_.size() < threads_max_) {
      threads_.emplace_back([this] { work(); });
    }
  }
  work_cv_.notify_one();
  return true;
}

bool WorkerPool::drain(std::chrono::milliseconds grace) {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  return idle_cv_.wait_for(lock, grace, [this] { return running_ == 0 && queue_.empty(); });
}

std::size_t WorkerPool::load() const {
  std::lock_guard lock(mutex_);
  return running_ + queue_.size();
}

void WorkerPool::work() {
  current_pool = this;
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_threads_;
    work_cv_.wait(lock, [this] { return !queue_.empty() || (stopping_ && queue_.empty()); });
    --idle_threads_;
    if (queue_.empty()) return;  // stopping and nothing left
    auto job = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    job();  // jobs do not throw: call_reply catches everything
    lock.lock();
    --running_;
    if (running_ == 0 && queue_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace polaris::detail
