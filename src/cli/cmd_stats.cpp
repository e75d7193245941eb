// `polaris stats [TOOL]`: every agent's per-tool counters, gathered over $SRV.STATS.
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/common.hpp"
#include "cli/observe_common.hpp"
#include "client/service_discovery.hpp"  // kServiceName, agent_of
#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "transport/gather.hpp"

namespace polaris::cli {
namespace {

// One row per (tool, agent), from the agents' stats_response answers.
Json rows_of(const std::vector<std::string>& answers, const std::string& only_tool) {
  Json rows = Json::array();
  for (const auto& body : answers) {
    const Json answer = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!answer.is_object() || answer.value("type", "") != "io.nats.micro.v1.stats_response") {
      continue;
    }
    const auto endpoints = answer.find("endpoints");
    if (endpoints == answer.end() || !endpoints->is_array()) continue;
    for (const auto& endpoint : *endpoints) {
      if (!endpoint.is_object()) continue;
      const std::string tool = endpoint.value("name", "");
      if (!only_tool.empty() && tool != only_tool) continue;
      Json data = endpoint.value("data", Json::object());
      if (!data.is_object()) data = Json::object();  // e.g. a Go micro service without stats
      rows.push_back({{"tool", tool},
                      {"agent", detail::agent_of(answer)},
                      {"calls", endpoint.value("num_requests", 0)},
                      {"errors", endpoint.value("num_errors", 0)},
                      {"busy", data.value("busy", 0)},
                      {"in_flight", data.value("in_flight", 0)},
                      {"latency_ms", data.value("latency_ms", Json::object())},
                      {"last_error", endpoint.value("last_error", "")}});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const Json& a, const Json& b) {
    return std::make_pair(a["tool"].get<std::string>(), a["agent"].get<std::string>()) <
           std::make_pair(b["tool"].get<std::string>(), b["agent"].get<std::string>());
  });
  return rows;
}

void print_rows(const Json& rows) {
  std::vector<std::vector<std::string>> table{{"TOOL", "AGENT", "CALLS", "ERRORS", "BUSY",
                                               "IN_FLIGHT", "P50_MS", "P90_MS", "P99_MS",
                                               "MAX_MS"}};
  for (const auto& row : rows) {
    const Json& latency = row["latency_ms"];
    auto ms = [&](const char* key) { return format_ms(latency.value(key, 0.0)); };
    table.push_back({row["tool"].get<std::string>(), row["agent"].get<std::string>(),
                     row["calls"].dump(), row["errors"].dump(), row["busy"].dump(),
                     row["in_flight"].dump(), ms("p50"), ms("p90"), ms("p99"), ms("max")});
  }
  std::cout << format_table(table);
}

}  // namespace

void add_stats_command(CLI::App& app, int& exit_code) {
  struct Flags {
    std::vector<std::string> servers;
    std::string tool;
    bool json = false;
    std::string wait = "300ms";
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* command = app.add_subcommand(
      "stats", "Per-tool call counters and latencies of every agent (NATS $SRV.STATS)");
  command->add_option("tool", flags->tool, "Show only this tool");
  add_server_option(*command, flags->servers);
  command->add_flag("--json", flags->json, "Print one JSON array of rows");
  command->add_option("--wait", flags->wait,
                      "Stop collecting answers after this long without one (default 300ms)");
  command->callback([flags, &exit_code] {
    try {
      const auto quiet = parse_duration(flags->wait);
      auto connection = connect_plain(flags->servers, exit_code);
      if (!connection) return;
      const auto answers = detail::gather(
          connection->get(), "$SRV.STATS." + std::string(detail::kServiceName), "",
          {.timeout = std::max(quiet * 10, std::chrono::milliseconds(2000)), .quiet = quiet});
      const Json rows = rows_of(answers, flags->tool);
      if (!flags->tool.empty() && rows.empty()) {
        print_error("no agent reports the tool " + flags->tool);
        exit_code = kFailure;
        return;
      }
      if (flags->json) {
        std::cout << rows.dump() << '\n';
      } else {
        print_rows(rows);
      }
    } catch (const CLI::ValidationError& error) {
      print_error(error.what());
      exit_code = kUsage;
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = exit_code_for(error);
    }
  });
}

}  // namespace polaris::cli
