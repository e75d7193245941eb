// Test support: the test_agent program (tests/support/test_agent.cpp) as a child process.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "process/child_process.hpp"

namespace polaris::test {

/// The path of the test_agent program.
std::string test_agent_program();

/// A test_agent serving one tool. Starting it does not wait: tests that race registrations
/// against faults start several, then settle() each.
/// Thread safety: all methods may be called from any thread.
class AgentProcess {
 public:
  struct Options {
    std::vector<std::string> servers;  ///< dialled in this order
    std::string tool = "work";
    bool replicable = false;
    bool idempotent = false;
    bool block = false;  ///< calls never return: the test kills the agent mid-call
    int work_ms = 0;
    std::size_t concurrency = 16;
    std::string log;  ///< where each handled call's seq is appended; empty: nowhere
    /// Count the calls that start (started()). Off by default: under a load the agent's
    /// "started" lines would push what a test looks for out of the kept output.
    bool count_calls = false;
  };

  explicit AgentProcess(Options options);

  /// Waits until the agent registered its tool (true) or exited (false).
  bool settle(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  /// settle(), or throws Error(Errc::process) with how the agent ended.
  void await_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  [[nodiscard]] std::string id() const;
  /// How many calls have started on the agent (with Options::count_calls).
  [[nodiscard]] int started() const;
  /// What the agent printed lately, a line each.
  [[nodiscard]] std::string output() const;
  [[nodiscard]] const std::string& log() const { return options_.log; }
  [[nodiscard]] detail::ChildProcess& process() { return *process_; }
  void signal(int number) { process_->signal(number); }
  void kill_hard();  ///< SIGKILL, then wait for exit

 private:
  Options options_;
  mutable std::mutex mutex_;
  std::string id_;
  int started_ = 0;
  std::unique_ptr<detail::ChildProcess> process_;
};

}  // namespace polaris::test
