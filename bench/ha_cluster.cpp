// bench_ha_cluster: the high-availability figures on a real 3-node cluster of `polaris registry`
// processes: the failover gap when the caller's node is SIGKILLed, the time for a SIGKILLed or
// SIGSTOPped agent's tools to leave every node, and throughput with 1, 2 and 4 replicas of a tool
// that works 1 ms per call, and what read-your-writes costs a registration (each change waits
// for every live node to confirm it, against the same cluster with --replication-timeout 0,
// which does not wait). Nodes and agents (tests/support/test_agent) run as separate processes,
// started with the test suite's process fixtures. Reports medians over rounds.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <thread>

#include "polaris/polaris.hpp"
#include "support/agent_process.hpp"
#include "support/cluster.hpp"
#include "support/process_fixtures.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using polaris::Json;
namespace test = polaris::test;

/// How long a figure waits for the cluster before it gives up: generous, for busy machines.
constexpr auto kPatience = 30s;

/// The benchmark's cluster: quiet nodes, so that debug logging does not weigh on the figures.
test::TestCluster start_cluster(std::vector<std::string> extra = {}) {
  return test::TestCluster({.name = "bench", .node_args = [extra](std::size_t) {
                              auto args = std::vector<std::string>{"--log-level", "warn"};
                              args.insert(args.end(), extra.begin(), extra.end());
                              return args;
                            }});
}

polaris::Connection connect_to(const std::vector<std::string>& servers) {
  polaris::ConnectOptions options{.servers = servers};
  options.randomize = false;
  return polaris::Connection(options);
}

bool listed_everywhere(const test::TestCluster& cluster, const std::string& tool, bool present) {
  for (const auto& node : cluster.nodes()) {
    auto connection = connect_to({node->client_url()});
    const auto tools = connection.list_tools();
    const bool found = std::any_of(tools.begin(), tools.end(), [&](const auto& declaration) {
      return declaration.name == tool;
    });
    if (found != present) return false;
  }
  return true;
}

/// An agent process (tests/support/test_agent), not waited for: the figures wait for the
/// catalogue. One call at a time per agent, so that throughput scales with replicas only.
std::unique_ptr<test::AgentProcess> start_agent(const std::vector<std::string>& servers,
                                                const std::string& tool, bool replicable,
                                                int work_ms) {
  return std::make_unique<test::AgentProcess>(test::AgentProcess::Options{
      .servers = servers,
      .tool = tool,
      .replicable = replicable,
      .work_ms = work_ms,
      .concurrency = 1,
  });
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The longest time without a successful call while the caller's node is SIGKILLed.
double failover_gap_ms(bool retry) {
  auto cluster = start_cluster();
  auto agent = start_agent(cluster.urls_from(1), "echo", false, 0);
  auto caller = connect_to(cluster.urls_from(0));
  if (!test::wait_until([&] { return listed_everywhere(cluster, "echo", true); }, kPatience)) {
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
  test::wait_until([&] { return successes > 2000; }, kPatience);
  const auto killed = Clock::now();
  cluster.node(0).kill_hard();
  const auto before = successes.load();
  test::wait_until([&] { return successes > before + 2000; }, kPatience);
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
double liveness_ms(int signal_number) {
  const auto cluster = start_cluster();
  auto agent = start_agent(cluster.urls_from(1), "mortal", false, 0);
  if (!test::wait_until([&] { return listed_everywhere(cluster, "mortal", true); }, kPatience)) {
    throw std::runtime_error("the agent did not register");
  }
  const auto start = Clock::now();
  agent->signal(signal_number);
  if (!test::wait_until([&] { return listed_everywhere(cluster, "mortal", false); }, 60s)) {
    throw std::runtime_error("the tool never left the catalogue");
  }
  const double elapsed = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (signal_number == SIGSTOP) agent->signal(SIGCONT);
  return elapsed;
}

double replica_throughput(int replicas, int seconds) {
  const auto cluster = start_cluster();
  std::vector<std::unique_ptr<test::AgentProcess>> agents;
  for (int i = 0; i < replicas; ++i) {
    agents.push_back(start_agent(cluster.urls_from(static_cast<std::size_t>(i)), "work", true, 1));
  }
  auto caller = connect_to(cluster.urls_from(0));
  test::wait_until(
      [&] {
        for (const auto& tool : caller.list_tools()) {
          if (tool.name == "work") {
            return tool.polaris && tool.polaris->replicas == static_cast<std::size_t>(replicas);
          }
        }
        return false;
      },
      kPatience);
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

struct ChangeLatency {
  std::vector<double> register_ms;
  std::vector<double> keepalive_ms;
  std::vector<double> unregister_ms;
  int refused = 0;  ///< changes refused because the answering node missed an earlier one
};

// A reference client on node 3 registers, keeps alive and unregisters `count` new tools, one
// request at a time; each request's round trip is timed.
ChangeLatency change_latency(const std::vector<std::string>& node_args, int count) {
  const auto cluster = start_cluster(node_args);
  test::RawNats client(cluster.node(2).client_url());
  ChangeLatency latency;
  auto timed = [&](std::vector<double>& into, const char* subject, const std::string& body) {
    const auto start = Clock::now();
    const Json reply = Json::parse(client.request(subject, body, 10000));
    into.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    // Without the wait a request may miss the client's previous change ("not found"): count it.
    if (!reply.value("success", false)) ++latency.refused;
  };
  for (int i = 0; i < count; ++i) {
    const Json declaration{{"name", fmt::format("latency{}", i)}, {"description", "timed"}};
    timed(latency.register_ms, "polaris:tool:register", declaration.dump());
    timed(latency.keepalive_ms, "polaris:tool:keepalive", Json::array({declaration}).dump());
    timed(latency.unregister_ms, "polaris:tool:unregister", declaration.dump());
  }
  return latency;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"High-availability figures on a 3-node cluster"};
  int rounds = 5;
  int seconds = 5;
  app.add_option("--rounds", rounds, "Rounds per failure figure")->capture_default_str();
  app.add_option("--seconds", seconds, "Seconds per throughput figure")->capture_default_str();
  int changes = 300;
  bool only_changes = false;
  app.add_option("--changes", changes, "Registrations timed per configuration")
      ->capture_default_str();
  app.add_flag("--only-changes", only_changes, "Time only registrations (read-your-writes)");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  try {
    // Alternating configurations, twice each, so that the machine's load weighs on both alike.
    ChangeLatency waiting;
    ChangeLatency not_waiting;
    for (int pass = 0; pass < 2; ++pass) {
      for (const bool wait : {true, false}) {
        auto run = change_latency(wait ? std::vector<std::string>{}
                                       : std::vector<std::string>{"--replication-timeout", "0"},
                                  changes / 2);
        auto& into = wait ? waiting : not_waiting;
        into.register_ms.insert(into.register_ms.end(), run.register_ms.begin(),
                                run.register_ms.end());
        into.keepalive_ms.insert(into.keepalive_ms.end(), run.keepalive_ms.begin(),
                                 run.keepalive_ms.end());
        into.unregister_ms.insert(into.unregister_ms.end(), run.unregister_ms.begin(),
                                  run.unregister_ms.end());
        into.refused += run.refused;
      }
    }
    fmt::print(
        "| change, reference client on node 3 | waits for every node (default) | "
        "--replication-timeout 0 | ratio |\n|---|---|---|---|\n");
    auto change_row = [](const char* name, const std::vector<double>& with,
                         const std::vector<double>& without) {
      fmt::print("| {} | {:.2f} ms | {:.2f} ms | {:.2f}x |\n", name, median(with), median(without),
                 median(with) / median(without));
    };
    change_row("register (median)", waiting.register_ms, not_waiting.register_ms);
    change_row("keepalive (median)", waiting.keepalive_ms, not_waiting.keepalive_ms);
    change_row("unregister (median)", waiting.unregister_ms, not_waiting.unregister_ms);
    fmt::print("| changes refused (missed the previous one) | {} of {} | {} of {} | |\n",
               waiting.refused, 3 * waiting.register_ms.size(), not_waiting.refused,
               3 * not_waiting.register_ms.size());
    if (only_changes) return 0;
    fmt::print("\n");
    std::vector<double> gaps_retry;
    std::vector<double> gaps_plain;
    std::vector<double> killed;
    std::vector<double> stopped;
    for (int r = 0; r < rounds; ++r) {
      gaps_retry.push_back(failover_gap_ms(true));
      gaps_plain.push_back(failover_gap_ms(false));
      killed.push_back(liveness_ms(SIGKILL));
      stopped.push_back(liveness_ms(SIGSTOP));
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
      const double rate = replica_throughput(replicas, seconds);
      if (replicas == 1) one = rate;
      fmt::print("| {} | {:.0f} | {:.2f}x |\n", replicas, rate, rate / one);
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "bench_ha_cluster: {}\n", error.what());
    return 1;
  }
  return 0;
}
