// bench_calls_in_flight: many calls outstanding at once.
//
// Part 1 (in one process, one nats-server): 4 callers, each keeping 1, 16 or 256 calls in flight
// with call_async(), against raw nats.c asynchronous requests of the same payload
// (natsConnection_PublishRequest plus one reply subscription per caller). Rounds alternate raw
// and polaris so that machine noise hits both alike; the table reports medians over rounds and
// polaris/raw ratios of throughput and latency percentiles.
//
// Part 2 (agents as processes): 1, 2 and 4 test_agent processes serving one replicable tool that
// works --work-ms per call (a sleep, so that the figure shows how calls spread over replicas, not
// how many cores the machine has), one call at a time per agent, so that the ideal is N times one
// agent's rate; the table reports calls/s and the fraction of the ideal.
#include <fmt/format.h>
#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "polaris/polaris.hpp"
#include "raw_nats.hpp"
#include "support/agent_process.hpp"
#include "transport/nats_error.hpp"
#include "transport/nats_handles.hpp"
#include "transport/subscription.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Config {
  int callers = 4;
  int calls = 20000;  // per measurement, all callers together
  int rounds = 5;
  int payload = 128;
  std::vector<int> depths = {1, 16, 256};
  std::vector<int> agents = {1, 2, 4};
  int work_ms = 1;
  bool skip_agents = false;
};

/// One measurement: how long `calls` took and each call's latency.
struct Run {
  double calls_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::size_t failures = 0;
};

using polaris::bench::median;
using polaris::bench::percentile;
using polaris::bench::raw_connect;

/// Each of `callers` threads keeps `depth` calls in flight (a sliding window: it waits for its
/// oldest call, then starts the next), `calls / callers` calls each. `send(caller)` starts one
/// call and returns its future. A call's latency is from its start to the moment its caller sees
/// it done, the same for raw and polaris.
template <typename Send>
Run run_window(int callers, int depth, int calls, Send&& send) {
  const int per_caller = calls / callers;
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(callers));
  std::atomic<std::size_t> failures{0};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&, c] {
      using Pending = decltype(send(c));
      std::deque<std::pair<Clock::time_point, Pending>> window;
      auto& mine = latencies[static_cast<std::size_t>(c)];
      mine.reserve(static_cast<std::size_t>(per_caller));
      int started = 0;
      while (started < per_caller || !window.empty()) {
        while (started < per_caller && static_cast<int>(window.size()) < depth) {
          window.emplace_back(Clock::now(), send(c));
          ++started;
        }
        auto [begun, pending] = std::move(window.front());
        window.pop_front();
        try {
          pending.get();
        } catch (const std::exception&) {
          ++failures;
        }
        mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - begun).count());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& each : latencies) all.insert(all.end(), each.begin(), each.end());
  Run run;
  run.calls_per_second = static_cast<double>(all.size()) / seconds;
  run.p50_us = percentile(all, 0.5);
  run.p99_us = percentile(all, 0.99);
  run.failures = failures;
  return run;
}

/// The raw baseline's caller: asynchronous requests on one connection, their replies on one
/// wildcard subscription, matched to their promises by the reply subject's last token.
class RawCaller {
 public:
  RawCaller(const std::string& url, int index, std::string body)
      : connection_(raw_connect(url)),
        inbox_(fmt::format("_INBOX.bench{}", index)),
        body_(std::move(body)),
        replies_(connection_.get(), inbox_ + ".*", "",
                 [this](polaris::detail::NatsMsgPtr message) { on_reply(message.get()); }) {
    natsConnection_Flush(connection_.get());
  }

  std::future<void> send() {
    const auto id = next_id_++;
    std::future<void> done;
    {
      std::lock_guard lock(mutex_);
      done = pending_[id].get_future();
    }
    const auto reply = fmt::format("{}.{}", inbox_, id);
    polaris::detail::check_nats(
        natsConnection_PublishRequest(connection_.get(), "bench.echo", reply.c_str(), body_.data(),
                                      static_cast<int>(body_.size())),
        "raw publish");
    return done;
  }

 private:
  void on_reply(natsMsg* message) {
    const std::string_view subject = natsMsg_GetSubject(message);
    const auto id = std::stoull(std::string(subject.substr(subject.rfind('.') + 1)));
    std::lock_guard lock(mutex_);
    if (auto found = pending_.find(id); found != pending_.end()) {
      found->second.set_value();
      pending_.erase(found);
    }
  }

  polaris::detail::NatsConnectionPtr connection_;
  std::string inbox_;
  std::string body_;
  std::atomic<std::uint64_t> next_id_{0};
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::promise<void>> pending_;
  polaris::detail::Subscription replies_;  // last: stops delivering before the rest goes
};

template <typename Field>
double median_of(const std::vector<Run>& runs, Field field) {
  std::vector<double> values;
  for (const auto& run : runs) values.push_back(run.*field);
  return median(values);
}

void in_process(const Config& config) {
  auto registry = polaris::Registry::start({.bind = {.port = 0}});
  const std::string url = registry.client_url();
  const polaris::Json arguments = {
      {"payload", std::string(static_cast<std::size_t>(config.payload), 'x')}};

  auto responder = raw_connect(url);
  polaris::detail::Subscription echo(
      responder.get(), "bench.echo", "", [&](polaris::detail::NatsMsgPtr message) {
        natsConnection_Publish(responder.get(), natsMsg_GetReply(message.get()),
                               natsMsg_GetData(message.get()),
                               natsMsg_GetDataLength(message.get()));
      });
  natsConnection_Flush(responder.get());
  std::vector<std::unique_ptr<RawCaller>> raw_callers;
  for (int c = 0; c < config.callers; ++c) {
    raw_callers.push_back(std::make_unique<RawCaller>(url, c, arguments.dump()));
  }

  // The echo tool may run as many calls at once as the callers keep in flight: this part
  // measures what a call costs, not the refusal of calls beyond a tool's concurrency.
  const auto deepest = *std::max_element(config.depths.begin(), config.depths.end());
  auto agent = polaris::connect({.servers = {url}});
  agent.register_tool(
      {.name = "echo",
       .handler = [](const polaris::Request& request) { return polaris::Result(request.json()); },
       .concurrency = static_cast<std::size_t>(deepest * config.callers)});
  std::vector<polaris::Connection> callers;
  for (int c = 0; c < config.callers; ++c) callers.push_back(polaris::connect({.servers = {url}}));

  fmt::print("## calls in flight: {} callers, payload {} B, {} calls x {} rounds (medians)\n\n",
             config.callers, config.payload, config.calls, config.rounds);
  fmt::print(
      "| in flight per caller | raw calls/s | polaris calls/s | ratio | raw p50 / p99 | "
      "polaris p50 / p99 | p50 ratio | p99 ratio |\n|---|---|---|---|---|---|---|---|\n");
  for (const int depth : config.depths) {
    auto raw_send = [&](int c) { return raw_callers[static_cast<std::size_t>(c)]->send(); };
    auto polaris_send = [&](int c) {
      return callers[static_cast<std::size_t>(c)].call_async("echo", arguments);
    };
    run_window(config.callers, depth, config.calls / 10, raw_send);  // warm-up
    run_window(config.callers, depth, config.calls / 10, polaris_send);
    std::vector<Run> raw;
    std::vector<Run> ours;
    std::size_t failures = 0;
    for (int round = 0; round < config.rounds; ++round) {
      raw.push_back(run_window(config.callers, depth, config.calls, raw_send));
      ours.push_back(run_window(config.callers, depth, config.calls, polaris_send));
      failures += raw.back().failures + ours.back().failures;
      fmt::print(stderr, "depth {} round {}: raw {:.0f}/s, polaris {:.0f}/s\n", depth, round + 1,
                 raw.back().calls_per_second, ours.back().calls_per_second);
    }
    const double raw_tput = median_of(raw, &Run::calls_per_second);
    const double our_tput = median_of(ours, &Run::calls_per_second);
    const double raw_p50 = median_of(raw, &Run::p50_us);
    const double raw_p99 = median_of(raw, &Run::p99_us);
    const double our_p50 = median_of(ours, &Run::p50_us);
    const double our_p99 = median_of(ours, &Run::p99_us);
    fmt::print(
        "| {} | {:.0f} | {:.0f} | **{:.2f}x** | {:.0f} / {:.0f} us | {:.0f} / {:.0f} us | "
        "{:.2f}x | {:.2f}x |\n",
        depth, raw_tput, our_tput, our_tput / raw_tput, raw_p50, raw_p99, our_p50, our_p99,
        our_p50 / raw_p50, our_p99 / raw_p99);
    if (failures > 0) fmt::print("(depth {}: {} calls failed)\n", depth, failures);
  }
  fmt::print("\n");
}

void with_agent_processes(const Config& config) {
  auto registry = polaris::Registry::start({.bind = {.port = 0}});
  const std::string url = registry.client_url();
  // Two callers per agent, one call each at a time: each agent has on average one call running
  // and one waiting, which is what its concurrency of 1 admits.
  const int most = *std::max_element(config.agents.begin(), config.agents.end());
  std::vector<polaris::Connection> callers;
  for (int c = 0; c < 2 * most; ++c) callers.push_back(polaris::connect({.servers = {url}}));
  // Enough calls that each run lasts about a second at one agent's ideal rate.
  const int calls = std::max(200, 1000 / std::max(1, config.work_ms));

  fmt::print(
      "## replicas as processes: a replicable tool working {} ms per call, one call at a time "
      "per agent, two callers per agent, {} calls per agent x {} rounds (medians)\n\n",
      config.work_ms, calls, config.rounds);
  fmt::print(
      "| agents | calls/s | ideal (agents x one agent's rate) | of ideal | busy refusals "
      "retried |\n|---|---|---|---|---|\n");
  double one_agent = 0;
  for (const int count : config.agents) {
    std::vector<std::unique_ptr<polaris::test::AgentProcess>> agents;
    for (int a = 0; a < count; ++a) {
      agents.push_back(std::make_unique<polaris::test::AgentProcess>(
          polaris::test::AgentProcess::Options{.servers = {url},
                                               .tool = "work",
                                               .replicable = true,
                                               .work_ms = config.work_ms,
                                               .concurrency = 1}));
    }
    for (auto& agent : agents) agent->await_ready();
    // The queue group picks a replica at random, so a third call may land on an agent that
    // already has two: it is refused as busy at once, and retried, as a caller would.
    std::atomic<std::size_t> refusals{0};
    auto send = [&](int c) {
      return std::async(std::launch::deferred, [&, c] {
        for (;;) {
          try {
            return callers[static_cast<std::size_t>(c)].call("work");
          } catch (const polaris::Error& error) {
            if (error.code() != polaris::Errc::busy) throw;
            ++refusals;
          }
        }
      });
    };
    std::vector<Run> runs;
    for (int round = 0; round < config.rounds; ++round) {
      runs.push_back(run_window(2 * count, 1, calls * count, send));
    }
    const double rate = median_of(runs, &Run::calls_per_second);
    if (count == config.agents.front()) one_agent = rate / count;
    fmt::print("| {} | {:.0f} | {:.0f} | {:.0f}% | {} |\n", count, rate, one_agent * count,
               100.0 * rate / (one_agent * count), refusals.load());
  }
  fmt::print("\n");
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  CLI::App app{"polaris calls in flight (call_async) against raw nats.c asynchronous requests"};
  app.add_option("--callers", config.callers, "Concurrent callers")->capture_default_str();
  app.add_option("--calls", config.calls, "Calls per measurement")->capture_default_str();
  app.add_option("--rounds", config.rounds, "Alternating raw/polaris rounds")
      ->capture_default_str();
  app.add_option("--payload", config.payload, "Bytes of payload in each request")
      ->capture_default_str();
  app.add_option("--depth", config.depths, "Calls in flight per caller (repeatable)")
      ->capture_default_str();
  app.add_option("--agents", config.agents, "Agent processes for part 2 (repeatable)")
      ->capture_default_str();
  app.add_option("--work-ms", config.work_ms, "Work per call of part 2's tool")
      ->capture_default_str();
  app.add_flag("--skip-agents", config.skip_agents, "Run part 1 only");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);  // keep the tables readable

  try {
    in_process(config);
    if (!config.skip_agents) with_agent_processes(config);
  } catch (const std::exception& error) {
    fmt::print(stderr, "error: {}\n", error.what());
    return 1;
  }
}
