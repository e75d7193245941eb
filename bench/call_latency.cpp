// bench_call_latency: polaris call() against a raw nats.c request/reply of the same payload, on
// one nats-server, in one process. Rounds alternate raw and polaris so that machine noise hits
// both alike; the table reports medians over rounds and polaris/raw ratios.
#include <fmt/format.h>
#include <nats/nats.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "polaris/polaris.hpp"
#include "raw_nats.hpp"
#include "transport/nats_error.hpp"
#include "transport/nats_handles.hpp"
#include "transport/subscription.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Sample {
  double p50_us = 0;
  double p99_us = 0;
  double calls_per_second = 0;
};

struct Config {
  int calls = 20000;
  int rounds = 5;
  int threads = 4;
  int payload = 128;
};

using polaris::bench::median;
using polaris::bench::percentile;

// Latency: one caller, one call at a time. Throughput: `threads` callers at once.
template <typename Call>
Sample measure(const Config& config, Call call) {
  for (int i = 0; i < 500; ++i) call();  // warm-up
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(config.calls));
  for (int i = 0; i < config.calls; ++i) {
    const auto start = Clock::now();
    call();
    latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  const int per_thread = config.calls / config.threads;
  std::vector<std::thread> workers;
  const auto start = Clock::now();
  for (int t = 0; t < config.threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) call();
    });
  }
  for (auto& worker : workers) worker.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {percentile(latencies, 0.5), percentile(latencies, 0.99),
          per_thread * config.threads / seconds};
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  CLI::App app{"polaris call latency and throughput against raw nats.c request/reply"};
  app.add_option("--calls", config.calls, "Calls per measurement")->capture_default_str();
  app.add_option("--rounds", config.rounds, "Alternating raw/polaris rounds")
      ->capture_default_str();
  app.add_option("--threads", config.threads, "Concurrent callers for throughput")
      ->capture_default_str();
  app.add_option("--payload", config.payload, "Bytes of payload in each request")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);  // keep the table readable

  try {
    auto registry = polaris::Registry::start({.bind = {.port = 0}});
    const std::string url = registry.client_url();
    const polaris::Json arguments = {
        {"payload", std::string(static_cast<std::size_t>(config.payload), 'x')}};
    const std::string body = arguments.dump();

    // Raw baseline: an echo responder and a requester, both plain nats.c with the same
    // low-latency setting polaris uses.
    auto responder = polaris::bench::raw_connect(url);
    auto requester = polaris::bench::raw_connect(url);
    polaris::detail::Subscription echo(
        responder.get(), "bench.echo", "", [&](polaris::detail::NatsMsgPtr msg) {
          natsConnection_Publish(responder.get(), natsMsg_GetReply(msg.get()),
                                 natsMsg_GetData(msg.get()), natsMsg_GetDataLength(msg.get()));
        });
    natsConnection_Flush(responder.get());
    auto raw_call = [&] {
      natsMsg* reply = nullptr;
      polaris::detail::check_nats(
          natsConnection_Request(&reply, requester.get(), "bench.echo", body.data(),
                                 static_cast<int>(body.size()), 5000),
          "raw request");
      natsMsg_Destroy(reply);
    };

    // polaris: an echo tool on one connection, called from another.
    auto agent = polaris::connect({.servers = {url}});
    agent.register_tool({.name = "echo", .handler = [](const polaris::Request& request) {
                           return polaris::Result(request.json());
                         }});
    auto client = polaris::connect({.servers = {url}});
    auto polaris_call = [&] { (void)client.call("echo", arguments); };

    std::vector<Sample> raw;
    std::vector<Sample> ours;
    for (int round = 0; round < config.rounds; ++round) {
      raw.push_back(measure(config, raw_call));
      ours.push_back(measure(config, polaris_call));
      fmt::print(stderr, "round {}: raw p50 {:.1f} us, polaris p50 {:.1f} us\n", round + 1,
                 raw.back().p50_us, ours.back().p50_us);
    }
    auto med = [](const std::vector<Sample>& samples, double Sample::*field) {
      std::vector<double> values;
      for (const auto& sample : samples) values.push_back(sample.*field);
      return median(values);
    };
    const double raw_p50 = med(raw, &Sample::p50_us);
    const double raw_p99 = med(raw, &Sample::p99_us);
    const double raw_tput = med(raw, &Sample::calls_per_second);
    const double our_p50 = med(ours, &Sample::p50_us);
    const double our_p99 = med(ours, &Sample::p99_us);
    const double our_tput = med(ours, &Sample::calls_per_second);
    fmt::print(
        "payload {} B, {} calls x {} rounds, throughput with {} callers (medians over rounds)\n\n",
        config.payload, config.calls, config.rounds, config.threads);
    fmt::print("| | p50 latency | p99 latency | throughput |\n|---|---|---|---|\n");
    fmt::print("| raw nats.c request/reply | {:.1f} us | {:.1f} us | {:.0f} calls/s |\n", raw_p50,
               raw_p99, raw_tput);
    fmt::print("| polaris call | {:.1f} us | {:.1f} us | {:.0f} calls/s |\n", our_p50, our_p99,
               our_tput);
    fmt::print("| polaris / raw | {:.2f}x | {:.2f}x | {:.2f}x |\n", our_p50 / raw_p50,
               our_p99 / raw_p99, our_tput / raw_tput);
  } catch (const std::exception& error) {
    fmt::print(stderr, "error: {}\n", error.what());
    return 1;
  }
}
