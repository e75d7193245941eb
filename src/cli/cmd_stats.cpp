// `polaris stats [TOOL]`: every agent's per-tool counters, gathered over $SRV.STATS.
#include <algorithm>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/cluster_report.hpp"
#include "cli/common.hpp"
#include "cli/observe_common.hpp"
#include "cli/output.hpp"
#include "polaris/error.hpp"
#include "polaris/json.hpp"

namespace polaris::cli {
namespace {

void print_rows(const Json& rows, Format format) {
  const bool wide = format == Format::wide;
  std::vector<std::vector<std::string>> table{{"TOOL", "AGENT", "CALLS", "ERRORS", "BUSY",
                                               "IN_FLIGHT", "P50_MS", "P90_MS", "P99_MS",
                                               "MAX_MS"}};
  if (wide) table.front().emplace_back("LAST_ERROR");
  for (const auto& row : rows) {
    const Json& latency = row["latency_ms"];
    auto ms = [&](const char* key) { return format_ms(latency.value(key, 0.0)); };
    table.push_back({row["tool"].get<std::string>(), row["agent"].get<std::string>(),
                     row["calls"].dump(), row["errors"].dump(), row["busy"].dump(),
                     row["in_flight"].dump(), ms("p50"), ms("p90"), ms("p99"), ms("max")});
    if (wide) table.back().push_back(row.value("last_error", ""));
  }
  // The agent id (user.random) gives way to the terminal's width.
  std::cout << format_table(table, {.width = wide ? 0 : output_width(), .shrink = {1, 0}});
}

struct Flags {
  std::vector<std::string> servers;
  std::string tool;
  OutputFlags output;
  std::string wait = "300ms";
  std::string watch;  // empty: once
  bool watching = false;
  int count = 0;  // with --watch: stop after this many rounds; 0: until interrupted
};

// One round: gather, report. Returns false when the tool asked for is not reported.
bool report_once(natsConnection* connection, const Flags& flags) {
  const Json rows = gather_stats(connection, parse_duration(flags.wait), flags.tool);
  // Once: an error instead of an empty table. Watching: the tool may appear later.
  if (!flags.watching && !flags.tool.empty() && rows.empty()) return false;
  const Format format = flags.output.format();
  if (format == Format::json) {
    std::cout << format_json(rows);
  } else {
    // Clear a terminal between rounds; a pipe or file gets the tables one after the other.
    if (flags.watching && stdout_is_terminal()) std::cout << "\033[H\033[2J";
    print_rows(rows, format);
  }
  std::cout.flush();
  return flags.tool.empty() || !rows.empty();
}

}  // namespace

void add_stats_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<Flags>();
  CLI::App* command = app.add_subcommand(
      "stats", "Per-tool call counters and latencies of every agent (NATS $SRV.STATS)");
  command->add_option("tool", flags->tool, "Show only this tool");
  add_server_option(*command, flags->servers);
  add_output_options(*command, flags->output, "one array of rows per round");
  command->add_option("--wait", flags->wait,
                      "Stop collecting answers after this long without one (default 300ms)");
  command
      ->add_option("--watch", flags->watch,
                   "Print once, or with --watch keep refreshing every INTERVAL (default 2s) "
                   "until interrupted")
      ->expected(0, 1)
      ->type_name("[INTERVAL]");
  command->add_option("--count", flags->count, "With --watch: stop after N refreshes")
      ->check(CLI::Range(1, 1'000'000));
  command->callback([command, flags, &exit_code] {
    try {
      flags->watching = command->get_option("--watch")->count() > 0;
      const auto interval = parse_duration(flags->watch.empty() ? "2s" : flags->watch);
      parse_duration(flags->wait);  // validate before connecting
      auto connection = connect_plain(flags->servers, exit_code);
      if (!connection) return;
      for (int round = 1;; ++round) {
        const bool reported = report_once(connection->get(), *flags);
        if (!flags->watching) {
          if (!reported) {
            print_error("no agent reports the tool " + flags->tool);
            exit_code = kFailure;
          }
          return;
        }
        if (flags->count > 0 && round >= flags->count) return;
        std::this_thread::sleep_for(interval);  // the refresh period itself, not a wait for state
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
