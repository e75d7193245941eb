#include "support/agent_process.hpp"

#include <csignal>

#include "polaris/error.hpp"
#include "support/wait.hpp"

namespace polaris::test {

std::string test_agent_program() { return POLARIS_TEST_AGENT_PATH; }

AgentProcess::AgentProcess(Options options) : options_(std::move(options)) {
  std::vector<std::string> argv{test_agent_program(),
                                "--tool",
                                options_.tool,
                                "--work-ms",
                                std::to_string(options_.work_ms),
                                "--concurrency",
                                std::to_string(options_.concurrency)};
  for (const auto& server : options_.servers) argv.insert(argv.end(), {"--server", server});
  if (options_.replicable) argv.push_back("--replicable");
  if (options_.idempotent) argv.push_back("--idempotent");
  if (options_.block) argv.push_back("--block");
  if (options_.count_calls) argv.push_back("--print-calls");
  if (!options_.log.empty()) argv.insert(argv.end(), {"--log", options_.log});
  process_ = std::make_unique<detail::ChildProcess>(
      detail::ChildProcessOptions{.argv = argv, .on_line = [this](const std::string& line) {
                                    std::lock_guard lock(mutex_);
                                    if (line.starts_with("ready ")) id_ = line.substr(6);
                                    if (line.starts_with("started ")) ++started_;
                                  }});
}

bool AgentProcess::settle(std::chrono::milliseconds timeout) {
  wait_until([&] { return !id().empty() || !process_->running(); }, timeout);
  return !id().empty();
}

void AgentProcess::await_ready(std::chrono::milliseconds timeout) {
  if (!settle(timeout)) {
    throw Error(Errc::process, "the test agent did not register: " + process_->describe_exit());
  }
}

std::string AgentProcess::id() const {
  std::lock_guard lock(mutex_);
  return id_;
}

int AgentProcess::started() const {
  std::lock_guard lock(mutex_);
  return started_;
}

std::string AgentProcess::output() const {
  std::string text;
  for (const auto& line : process_->last_lines()) text += line + "\n";
  return text;
}

void AgentProcess::kill_hard() {
  process_->signal(SIGKILL);
  process_->wait_for_exit(std::chrono::seconds(10));
}

}  // namespace polaris::test
