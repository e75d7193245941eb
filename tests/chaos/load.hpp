// Chaos-test support: a steady call load on one tool, and what the callers saw.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "polaris/connection.hpp"
#include "polaris/error.hpp"

namespace polaris::test {

/// `threads` callers calling `tool` with {"seq": n} (n unique) back to back until stop().
/// Thread safety: all methods may be called from any thread.
class Load {
 public:
  using Clock = std::chrono::steady_clock;

  struct Record {
    std::int64_t seq = 0;
    Clock::time_point start;
    Clock::time_point end;
    bool ok = false;
    Errc code = Errc::internal;
    std::string message;
    std::string agent;  ///< the agent that answered
  };

  struct Summary {
    std::size_t calls = 0;
    std::size_t succeeded = 0;
    std::size_t failed = 0;
    std::chrono::milliseconds longest_gap{0};  ///< longest time without a successful call
    std::string failures_by_code;
    [[nodiscard]] std::string line() const;
  };

  Load(Connection& connection, std::string tool, int threads, std::chrono::milliseconds timeout);
  ~Load();
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  /// Waits (up to 30 s) until at least `count` calls have succeeded.
  bool await_successes(std::size_t count) const;
  void stop();

  [[nodiscard]] Summary summary() const;
  [[nodiscard]] std::vector<Record> records() const;
  [[nodiscard]] std::vector<std::int64_t> succeeded_seqs() const;
  /// Violations of the callers' contract: unclear errors, wrong answers, calls that outlived
  /// their deadline.
  [[nodiscard]] std::vector<std::string> failures() const;

 private:
  void run();

  Connection& connection_;
  std::string tool_;
  std::chrono::milliseconds timeout_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> next_seq_{1};
  std::atomic<std::size_t> successes_{0};
  mutable std::mutex mutex_;
  std::vector<Record> records_;
  std::vector<std::string> violations_;
  std::vector<std::thread> threads_;
};

}  // namespace polaris::test
