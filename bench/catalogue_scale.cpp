// bench_catalogue_scale: list latency and catalogue memory with 100, 1,000 and 10,000 tools.
// One in-process registry node; tools registered in batches by a wire-level agent; the list read
// page by page through polaris.registry.list (what polaris clients do) and, where it fits, as the
// reference's single array. Also times the catalogue digest that node heartbeats carry (4 times a
// second). Reports medians over repetitions.
#include <fmt/format.h>
#include <malloc.h>
#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <vector>

#include "polaris/polaris.hpp"
#include "protocol/wire.hpp"
#include "registry/catalogue.hpp"
#include "transport/nats_error.hpp"
#include "transport/nats_handles.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Heap bytes in use (glibc): unlike the resident size, it does not count freed memory the
// allocator keeps, so the difference before and after registering is what the catalogue holds.
std::size_t heap_in_use() { return mallinfo2().uordblks; }

std::string request(natsConnection* connection, std::string_view subject, const std::string& body) {
  natsMsg* raw = nullptr;
  polaris::detail::check_nats(
      natsConnection_Request(&raw, connection, std::string(subject).c_str(), body.data(),
                             static_cast<int>(body.size()), 10000),
      "request");
  polaris::detail::NatsMsgPtr reply(raw);
  return {natsMsg_GetData(reply.get()),
          static_cast<std::size_t>(natsMsg_GetDataLength(reply.get()))};
}

polaris::Json declaration(int i) {
  return {{"name", fmt::format("tool_{:05}", i)},
          {"description", "Returns the weather forecast for a city on a given day."},
          {"parameters",
           {{"type", "OBJECT"},
            {"properties",
             {{"city", {{"type", "STRING"}, {"description", "City name"}}},
              {"day", {{"type", "INTEGER"}, {"description", "Days from today"}}}}},
            {"required", {"city"}}}},
          {"polaris", {{"agent", "benchagent"}, {"replicable", false}}}};
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct Row {
  int tools;
  double paged_ms;
  int pages;
  std::string reference;
  double bytes_per_tool;
  double digest_ms;
};

// The digest of a catalogue of `tools` owners, as every node heartbeat computes it.
double digest_ms(int tools, int repetitions) {
  polaris::detail::Catalogue catalogue({});
  const auto now = polaris::detail::Catalogue::Clock::now();
  for (int i = 0; i < tools; ++i) {
    auto claim = *polaris::detail::parse_claim(declaration(i)).claim;
    claim.stamp = static_cast<polaris::detail::Stamp>(i + 1);
    catalogue.claim(claim, now);
  }
  std::vector<double> times;
  const auto first = catalogue.digest();
  for (int r = 0; r < repetitions; ++r) {
    const auto start = Clock::now();
    const auto digest = catalogue.digest();
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (digest != first || digest.owners != static_cast<std::size_t>(tools)) {
      throw std::runtime_error("the digest of an unchanged catalogue changed");
    }
  }
  return median(times);
}

Row measure(int tools, int repetitions) {
  auto registry = polaris::Registry::start({.bind = {.host = "127.0.0.1", .port = 0}});
  natsConnection* raw = nullptr;
  polaris::detail::check_nats(natsConnection_ConnectTo(&raw, registry.client_url().c_str()),
                              "connect");
  polaris::detail::NatsConnectionPtr connection(raw);
  const std::size_t before = heap_in_use();
  polaris::Json batch = polaris::Json::array();
  for (int i = 0; i < tools; ++i) {
    batch.push_back(declaration(i));
    if (batch.size() == 500 || i + 1 == tools) {
      request(connection.get(), polaris::wire::kBatchRegisterSubject,
              polaris::Json{{"tools", batch}}.dump());
      batch = polaris::Json::array();
    }
  }
  const std::size_t after = heap_in_use();

  std::vector<double> paged;
  int pages = 0;
  for (int r = 0; r < repetitions; ++r) {
    const auto start = Clock::now();
    std::string next;
    std::size_t seen = 0;
    pages = 0;
    while (true) {
      const auto page =
          polaris::Json::parse(request(connection.get(), polaris::wire::kPagedListSubject,
                                       polaris::Json{{"after", next}}.dump()));
      seen += page["tools"].size();
      ++pages;
      if (!page.contains("next")) break;
      next = page["next"].get<std::string>();
    }
    paged.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (seen != static_cast<std::size_t>(tools)) throw std::runtime_error("a page went missing");
  }

  std::vector<double> whole;
  std::string reference;
  for (int r = 0; r < repetitions; ++r) {
    const auto start = Clock::now();
    const auto list =
        polaris::Json::parse(request(connection.get(), polaris::wire::kListSubject, ""));
    whole.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!list.is_array()) {
      reference = "refused: over the max payload";
      break;
    }
  }
  if (reference.empty()) reference = fmt::format("{:.2f} ms", median(whole));
  return {tools,
          median(paged),
          pages,
          reference,
          static_cast<double>(after > before ? after - before : 0) / tools,
          digest_ms(tools, repetitions)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"List latency and catalogue memory with many tools"};
  int repetitions = 20;
  std::vector<int> sizes{100, 1000, 10000};
  app.add_option("--repetitions", repetitions, "Lists per size")->capture_default_str();
  app.add_option("--tools", sizes, "Catalogue sizes")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  try {
    fmt::print(
        "| tools | paged list (median) | pages | reference list (one array) | memory per tool | "
        "digest (median) |\n");
    fmt::print("|---|---|---|---|---|---|\n");
    for (int tools : sizes) {
      const Row row = measure(tools, repetitions);
      fmt::print("| {} | {:.2f} ms | {} | {} | {:.0f} bytes | {:.3f} ms |\n", row.tools,
                 row.paged_ms, row.pages, row.reference, row.bytes_per_tool, row.digest_ms);
    }
  } catch (const std::exception& error) {
    fmt::print(stderr, "bench_catalogue_scale: {}\n", error.what());
    return 1;
  }
  return 0;
}
