// bench_agent_scale: one agent serving many tools, with nats.c's thread per subscription and
// with its shared delivery pool (ConnectOptions::delivery_pool_threads): threads, memory,
// registration and close time, and call latency. Each configuration runs in a child process of
// its own, because nats.c's pool is process-wide and never shrinks.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "polaris/polaris.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

int thread_count() {
  const auto tasks = std::filesystem::directory_iterator("/proc/self/task");
  return static_cast<int>(
      std::distance(std::filesystem::begin(tasks), std::filesystem::end(tasks)));
}

// Resident memory in KiB (/proc/self/status VmRSS): threads' stacks are mapped lazily, so this is
// what they actually cost, not the virtual reservation.
long rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

struct Result {
  double register_ms = 0;
  int threads = 0;
  long rss_mib = 0;
  double call_p50_us = 0;
  double close_ms = 0;
};

Result measure(int tools, int pool, int calls) {
  auto registry = polaris::Registry::start({.bind = {.port = 0}});
  const int threads_before = thread_count();
  const long rss_before = rss_kib();
  std::vector<polaris::Tool> batch;
  batch.reserve(static_cast<std::size_t>(tools));
  for (int i = 0; i < tools; ++i) {
    batch.push_back(
        {.name = fmt::format("tool_{:05}", i), .handler = [](const polaris::Request& request) {
           return polaris::Result(request.json());
         }});
  }
  Result result;
  auto start = Clock::now();
  auto agent =
      polaris::connect({.servers = {registry.client_url()}, .delivery_pool_threads = pool});
  agent.register_tools(std::move(batch));
  result.register_ms = ms_since(start);
  result.threads = thread_count() - threads_before;
  result.rss_mib = (rss_kib() - rss_before) / 1024;

  auto client = polaris::connect({.servers = {registry.client_url()}});
  std::vector<double> latencies;
  for (int i = 0; i < calls; ++i) {
    const auto call_start = Clock::now();
    (void)client.call(fmt::format("tool_{:05}", i % tools), {{"i", i}});
    latencies.push_back(ms_since(call_start) * 1000);
  }
  std::sort(latencies.begin(), latencies.end());
  result.call_p50_us = latencies[latencies.size() / 2];
  start = Clock::now();
  agent.close();
  result.close_ms = ms_since(start);
  return result;
}

int run(int argc, char** argv) {
  int tools = 10000;
  int pool = 4;
  int calls = 2000;
  int child_pool = -1;  // internal: run one measurement and print it as a line of numbers
  CLI::App app{"one agent with many tools: thread per subscription vs the shared delivery pool"};
  app.add_option("--tools", tools, "Tools the agent serves")->capture_default_str();
  app.add_option("--pool", pool, "Threads of the shared delivery pool")->capture_default_str();
  app.add_option("--calls", calls, "Calls measured (spread over the tools)")->capture_default_str();
  app.add_option("--measure-child", child_pool)->group("");  // hidden
  CLI11_PARSE(app, argc, argv);
  // On stderr: the measuring child's stdout carries only its numbers.
  polaris::install_program_logger("bench_agent_scale",
                                  polaris::log_settings_from_env({.level = "warn"}));
  try {
    if (child_pool >= 0) {
      const Result r = measure(tools, child_pool, calls);
      fmt::print("{} {} {} {} {}\n", r.register_ms, r.threads, r.rss_mib, r.call_p50_us,
                 r.close_ms);
      return 0;
    }
    fmt::print("{} tools on one agent, {} calls (one child process per row)\n\n", tools, calls);
    fmt::print(
        "| delivery | agent threads | agent RSS | register | call p50 | close |\n"
        "|---|---|---|---|---|---|\n");
    for (const int configuration : {0, pool}) {
      const std::string command = fmt::format("{} --tools {} --calls {} --measure-child {}",
                                              argv[0], tools, calls, configuration);
      FILE* child = popen(command.c_str(), "r");
      if (child == nullptr) throw std::runtime_error("cannot start " + command);
      Result r;
      const int fields = std::fscanf(child, "%lf %d %ld %lf %lf", &r.register_ms, &r.threads,
                                     &r.rss_mib, &r.call_p50_us, &r.close_ms);
      const int status = pclose(child);
      if (fields != 5 || status != 0)
        throw std::runtime_error("the measurement failed: " + command);
      fmt::print("| {} | {} | {} MiB | {:.0f} ms | {:.0f} us | {:.0f} ms |\n",
                 configuration == 0 ? std::string("thread per subscription")
                                    : fmt::format("shared pool of {}", configuration),
                 r.threads, r.rss_mib, r.register_ms, r.call_p50_us, r.close_ms);
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "error: {}\n", error.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {  // e.g. from the command-line parser's setup
    fmt::print(stderr, "error: {}\n", error.what());
    return 1;
  }
}
