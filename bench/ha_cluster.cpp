// bench_ha_cluster: the high-availability figures on a real 3-node cluster of `polaris registry`
// processes: the failover gap when the caller's node is SIGKILLed, the time for a SIGKILLed or
// SIGSTOPped agent's tools to leave every node, and throughput with 1, 2 and 4 replicas of a tool
// that works 1 ms per call. Agents run as separate processes (this program re-executed with
// --agent). Reports medians over rounds.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "polaris/polaris.hpp"
#include "process/child_process.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using polaris::Json;

std::string program_dir() { return std::filesystem::read_symlink("/proc/self/exe").parent_path(); }

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 30s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}

/// A `polaris registry` child process.
class Node {
 public:
  Node(const polaris::detail::TempDir& dir, const std::string& label,
       const std::vector<std::string>& routes) {
    const std::string ready = dir.path() + "/" + label + ".json";
    std::filesystem::remove(ready);
    std::vector<std::string> argv{
        program_dir() + "/polaris", "registry", "--port",       "0",   "--cluster-name", "bench",
        "--cluster-port",           "0",        "--ready-file", ready, "--log-level",    "warn"};
    for (const auto& route : routes) argv.insert(argv.end(), {"--route", route});
    process_ = std::make_unique<polaris::detail::ChildProcess>(
        polaris::detail::ChildProcessOptions{.argv = argv});
    if (!wait_for([&] { return std::filesystem::exists(ready) || !process_->running(); }) ||
        !std::filesystem::exists(ready)) {
      throw std::runtime_error("registry did not start: " + process_->describe_exit());
    }
    std::ifstream in(ready);
    const Json info = Json::parse(in);
    client_url_ = info.at("client_url").get<std::string>();
    cluster_url_ = info.at("cluster_url").get<std::string>();
  }
  const std::string& client_url() const { return client_url_; }
  const std::string& cluster_url() const { return cluster_url_; }
  void kill_hard() {
    process_->signal(SIGKILL);
    process_->wait_for_exit(10s);
  }

 private:
  std::unique_ptr<polaris::detail::ChildProcess> process_;
  std::string client_url_;
  std::string cluster_url_;
};

struct Cluster {
  explicit Cluster(const polaris::detail::TempDir& dir) {
    nodes.push_back(std::make_unique<Node>(dir, "n0", std::vector<std::string>{}));
    for (int i = 1; i < 3; ++i) {
      nodes.push_back(std::make_unique<Node>(dir, "n" + std::to_string(i),
                                             std::vector<std::string>{nodes[0]->cluster_url()}));
    }
  }
  std::vector<std::string> urls_from(std::size_t first) const {
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      urls.push_back(nodes[(first + i) % nodes.size()]->client_url());
    }
    return urls;
  }
  std::vector<std::unique_ptr<Node>> nodes;
};

polaris::Connection connect_to(const std::vector<std::string>& servers) {
  polaris::ConnectOptions options{.servers = servers};
  options.randomize = false;
  return polaris::Connection(options);
}

bool listed_everywhere(const Cluster& cluster, const std::string& tool, bool present) {
  for (const auto& node : cluster.nodes) {
    auto connection = connect_to({node->client_url()});
    const auto tools = connection.list_tools();
    const bool found = std::any_of(tools.begin(), tools.end(), [&](const auto& declaration) {
      return declaration.name == tool;
    });
    if (found != present) return false;
  }
  return true;
}

/// An agent process: this program with --agent.
std::unique_ptr<polaris::detail::ChildProcess> start_agent(const std::vector<std::string>& servers,
                                                           const std::string& tool, bool replicable,
                                                           int work_ms) {
  std::vector<std::string> argv{"/proc/self/exe",       "--agent", "--tool", tool, "--work-ms",
                                std::to_string(work_ms)};
  argv[0] = std::filesystem::read_symlink("/proc/self/exe");
  for (const auto& server : servers) argv.insert(argv.end(), {"--server", server});
  if (replicable) argv.push_back("--replicable");
  return std::make_unique<polaris::detail::ChildProcess>(
      polaris::detail::ChildProcessOptions{.argv = argv});
}

int run_agent(const std::vector<std::string>& servers, const std::string& tool, bool replicable,
              int work_ms) {
  auto connection = connect_to(servers);
  connection.register_tool({
      .name = tool,
      .description = "works for a while",
      .handler = [work_ms](const polaris::Request&) -> polaris::Result {
        if (work_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(work_ms));
        return {{"ok", true}};
      },
      .concurrency = 1,  // one call at a time per replica: throughput scales with replicas only
      .replicable = replicable,
  });
  polaris::wait_for_shutdown();
  return 0;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The longest time without a successful call while the caller's node is SIGKILLed.
double failover_gap_ms(const polaris::detail::TempDir& dir, bool retry) {
  Cluster cluster(dir);
  auto agent = start_agent(cluster.urls_from(1), "echo", false, 0);
  auto caller = connect_to(cluster.urls_from(0));
  if (!wait_for([&] { return listed_everywhere(cluster, "echo", true); })) {
    throw std::runtime_error("the agent did not register");
  }
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> successes{0};
  std::mutex mutex;
  std::vector<Clock::time_point> ends;
  std::thread load([&] {
    while (!stop) {
      try {
        caller.call("echo", Json::object(), {.timeout = 5000ms, .retry = retry});
        std::lock_guard lock(mutex);
        ends.push_back(Clock::now());
        ++successes;
      } catch (const polaris::Error&) {
      }
    }
  });
  wait_for([&] { return successes > 2000; });
  const auto killed = Clock::now();
  cluster.nodes[0]->kill_hard();
  const auto before = successes.load();
  wait_for([&] { return successes > before + 2000; });
  stop = true;
  load.join();
  double gap = 0;
  std::lock_guard lock(mutex);
  for (std::size_t i = 1; i < ends.size(); ++i) {
    if (ends[i] < killed - 1s) continue;
    gap = std::max(gap, std::chrono::duration<double, std::milli>(ends[i] - ends[i - 1]).count());
  }
  return gap;
}

// From the agent's SIGKILL or SIGSTOP to its tool being gone from every node's catalogue.
double liveness_ms(const polaris::detail::TempDir& dir, int signal_number) {
  Cluster cluster(dir);
  auto agent = start_agent(cluster.urls_from(1), "mortal", false, 0);
  if (!wait_for([&] { return listed_everywhere(cluster, "mortal", true); })) {
    throw std::runtime_error("the agent did not register");
  }
  const auto start = Clock::now();
  agent->signal(signal_number);
  if (!wait_for([&] { return listed_everywhere(cluster, "mortal", false); }, 60s)) {
    throw std::runtime_error("the tool never left the catalogue");
  }
  const double elapsed = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (signal_number == SIGSTOP) agent->signal(SIGCONT);
  return elapsed;
}

double replica_throughput(const polaris::detail::TempDir& dir, int replicas, int seconds) {
  Cluster cluster(dir);
  std::vector<std::unique_ptr<polaris::detail::ChildProcess>> agents;
  for (int i = 0; i < replicas; ++i) {
    agents.push_back(start_agent(cluster.urls_from(static_cast<std::size_t>(i)), "work", true, 1));
  }
  auto caller = connect_to(cluster.urls_from(0));
  wait_for([&] {
    for (const auto& tool : caller.list_tools()) {
      if (tool.name == "work") {
        return tool.polaris && tool.polaris->replicas == static_cast<std::size_t>(replicas);
      }
    }
    return false;
  });
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> done{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4 * replicas; ++t) {
    callers.emplace_back([&] {
      while (!stop) {
        try {
          caller.call("work");
          ++done;
        } catch (const polaris::Error&) {
          // busy or a dead replica: not counted
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));  // the measurement window
  stop = true;
  for (auto& thread : callers) thread.join();
  return static_cast<double>(done) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"High-availability figures on a 3-node cluster"};
  bool agent_mode = false;
  std::vector<std::string> servers;
  std::string tool;
  bool replicable = false;
  int work_ms = 0;
  int rounds = 5;
  int seconds = 5;
  app.add_flag("--agent", agent_mode, "Run as an agent process (used by the benchmark itself)");
  app.add_option("--server", servers, "Agent mode: registry URL, repeatable");
  app.add_option("--tool", tool, "Agent mode: tool name");
  app.add_flag("--replicable", replicable, "Agent mode: declare the tool replicable");
  app.add_option("--work-ms", work_ms, "Agent mode: time per call");
  app.add_option("--rounds", rounds, "Rounds per failure figure")->capture_default_str();
  app.add_option("--seconds", seconds, "Seconds per throughput figure")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  try {
    if (agent_mode) return run_agent(servers, tool, replicable, work_ms);
    polaris::detail::TempDir dir("polaris-bench-ha-");
    std::vector<double> gaps_retry;
    std::vector<double> gaps_plain;
    std::vector<double> killed;
    std::vector<double> stopped;
    for (int r = 0; r < rounds; ++r) {
      gaps_retry.push_back(failover_gap_ms(dir, true));
      gaps_plain.push_back(failover_gap_ms(dir, false));
      killed.push_back(liveness_ms(dir, SIGKILL));
      stopped.push_back(liveness_ms(dir, SIGSTOP));
    }
    fmt::print("| figure | median | worst | rounds |\n|---|---|---|---|\n");
    auto row = [](const char* name, const std::vector<double>& values) {
      fmt::print("| {} | {:.1f} ms | {:.1f} ms | {} |\n", name, median(values),
                 *std::max_element(values.begin(), values.end()), values.size());
    };
    row("failover gap, retry on (default)", gaps_retry);
    row("failover gap, retry off", gaps_plain);
    row("liveness after SIGKILL of the agent", killed);
    row("liveness after SIGSTOP of the agent", stopped);
    fmt::print("\n| replicas | calls/s | vs 1 replica |\n|---|---|---|\n");
    double one = 0;
    for (int replicas : {1, 2, 4}) {
      const double rate = replica_throughput(dir, replicas, seconds);
      if (replicas == 1) one = rate;
      fmt::print("| {} | {:.0f} | {:.2f}x |\n", replicas, rate, rate / one);
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "bench_ha_cluster: {}\n", error.what());
    return 1;
  }
  return 0;
}
