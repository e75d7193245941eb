// test_agent: a polaris agent in its own process, for the tests (and benchmarks) that kill, hang
// or race agents. It serves one tool and reports on stdout:
//   "ready <agent id>"  once the tool is registered (also written to --ready-file as JSON);
//   "started <n>"       when the n-th call starts (only with --print-calls: under a load of
//                       thousands of calls a line each would flood the pipe and the kept output).
// Each call works for --work-ms (or, with --block, until the agent stops), then appends its "seq"
// argument to --log, one line per handler run, written with O_APPEND so that a SIGKILL loses
// nothing already written: a seq logged twice means a handler ran twice. It answers
// {"agent": id} plus {"seq": n} when the call had one.
//
// The tool is declared with no description and no parameters so that a replica registered by a
// test in its own process (a bare Tool) declares the same thing.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

#include "polaris/polaris.hpp"

namespace {

/// The --log file, closed on destruction; writes are atomic appends.
class CallLog {
 public:
  explicit CallLog(const std::string& path) {
    if (path.empty()) return;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot open " + path);
  }
  ~CallLog() {
    if (fd_ >= 0) ::close(fd_);
  }
  CallLog(const CallLog&) = delete;
  CallLog& operator=(const CallLog&) = delete;

  /// False when the line could not be written whole.
  bool record(std::int64_t seq) const {
    if (fd_ < 0) return true;
    const std::string line = std::to_string(seq) + "\n";
    return ::write(fd_, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  }

 private:
  int fd_ = -1;
};

void write_ready_file(const std::string& path, const std::string& agent) {
  // Written aside and renamed, so that a test polling for the file never reads half of it.
  {
    std::ofstream out(path + ".tmp");
    out << polaris::Json{{"agent", agent}}.dump();
  }
  std::rename((path + ".tmp").c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "test_agent: a polaris agent serving one tool, for the tests that kill, hang or race "
      "agents. Prints \"ready <agent id>\" once registered and, with --print-calls, "
      "\"started <n>\" as the n-th call starts."};
  std::vector<std::string> servers;
  std::string tool = "work";
  std::string log_path;
  std::string ready_file;
  bool replicable = false;
  bool idempotent = false;
  bool block = false;
  bool print_calls = false;
  int work_ms = 0;
  std::size_t concurrency = 16;
  app.add_option("--server", servers, "Registry node URL, repeatable (dialled in this order)")
      ->required();
  app.add_option("--tool", tool, "Tool name")->capture_default_str();
  app.add_flag("--replicable", replicable, "Declare the tool replicable");
  app.add_flag("--idempotent", idempotent, "Declare the tool idempotent");
  app.add_option("--work-ms", work_ms, "Time each call takes (it ends early when cancelled)")
      ->capture_default_str();
  app.add_flag("--block", block, "Calls never return while the agent runs (kill it mid-call)");
  app.add_option("--concurrency", concurrency, "Calls that may run at once")->capture_default_str();
  app.add_option("--log", log_path, "Append each handled call's seq argument to this file");
  app.add_option("--ready-file", ready_file, "Write {\"agent\": id} here once registered");
  app.add_flag("--print-calls", print_calls, "Print \"started <n>\" as each call starts");
  CLI11_PARSE(app, argc, argv);

  try {
    const CallLog log(log_path);
    // --block handlers wait for this, set once the agent stops, so that a SIGTERM still ends
    // the process promptly instead of leaving close() waiting on handlers that never return.
    std::promise<void> stopped;
    const std::shared_future<void> stopping = stopped.get_future().share();
    std::mutex output;
    std::atomic<int> calls{0};
    polaris::ConnectOptions options{.servers = servers};
    // Failover tests rely on the order of --server: the first is the node the agent lives on.
    options.randomize = false;
    options.reconnect_wait = std::chrono::milliseconds(50);
    auto connection = polaris::connect(options);
    const std::string agent = connection.agent_id();
    connection.register_tool({
        .name = tool,
        .handler = [&](const polaris::Request& request) -> polaris::Result {
          const int call = ++calls;
          if (print_calls) {
            std::lock_guard lock(output);
            std::cout << "started " << call << std::endl;
          }
          if (block) stopping.wait();
          const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(work_ms);
          while (std::chrono::steady_clock::now() < until && !request.cancelled()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          polaris::Json reply{{"agent", agent}};
          if (request.has("seq")) {
            if (!log.record(request.integer("seq")))
              return polaris::error("cannot record the call");
            reply["seq"] = request.integer("seq");
          }
          return reply;
        },
        .concurrency = concurrency,
        .replicable = replicable,
        .idempotent = idempotent,
    });
    if (!ready_file.empty()) write_ready_file(ready_file, agent);
    {
      std::lock_guard lock(output);
      std::cout << "ready " << agent << std::endl;
    }
    polaris::wait_for_shutdown();
    stopped.set_value();
    connection.close();
  } catch (const std::exception& error) {
    std::cerr << "test_agent: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
