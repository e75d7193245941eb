// `polaris status`: every registry node's status at a glance (polaris.registry.status).
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "cli/cluster_report.hpp"
#include "cli/common.hpp"
#include "cli/observe_common.hpp"
#include "cli/output.hpp"
#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "registry/status.hpp"  // kStatusSubject

namespace polaris::cli {
namespace {

std::string short_id(const std::string& id) { return id.size() > 12 ? id.substr(0, 12) : id; }

void print_table(const Json& report, Format format) {
  const bool wide = format == Format::wide;
  std::vector<std::vector<std::string>> table{{"NODE", "STATE", "CLIENT_URL", "CLUSTER_URL",
                                               "PEERS_UP", "TOOLS", "AGENTS", "UPTIME", "VERSION"}};
  if (wide) table.front().insert(table.front().end(), {"NATS_SERVER", "SERVER_ID"});
  for (const auto& node : report["nodes"]) {
    std::size_t peers = 0;  // those that shut down on purpose are not expected back
    for (const auto& peer : node.value("peers", Json::array())) {
      if (!peer.value("left", false)) ++peers;
    }
    std::string peers_up =
        node.value("monitoring", false)
            ? std::to_string(node.value("peers_up", 0)) + "/" + std::to_string(peers)
            : "?";
    // An unnamed nats-server's name is its 56-character id: shorten it like the missing ones.
    const std::string name = node.value("node", "");
    table.push_back({name == node.value("server_id", "") ? short_id(name) : name, "up",
                     node.value("client_url", ""),
                     node.value("cluster_url", "").empty() ? "-" : node.value("cluster_url", ""),
                     peers_up, std::to_string(node.value("tools", 0)),
                     std::to_string(node.value("agents", 0)),
                     format_uptime(node.value("uptime_s", 0.0)), node.value("version", "")});
    if (wide) {
      table.back().insert(table.back().end(),
                          {node.value("nats_server_version", ""), node.value("server_id", "")});
    }
  }
  for (const auto& node : report["missing"]) {
    const std::string name = node.value("node", "");
    table.push_back({name.empty() ? short_id(node.value("server_id", "")) : name,
                     node.value("state", ""), "-", "-", "-", "-", "-", "-", "-"});
    if (wide) table.back().insert(table.back().end(), {"-", node.value("server_id", "")});
  }
  TableStyle style{.width = wide ? 0 : output_width(),
                   .shrink = {3, 2}};  // the cluster URL gives way
  if (colour_enabled()) {
    style.colour = [](std::size_t, std::size_t column, const std::string& text) -> std::string {
      if (column != 1) return {};
      return text == "up" ? "32" : text == "down" ? "31" : "33";  // green, red, yellow
    };
  }
  std::cout << format_table(table, style);
  const std::size_t answering = report["nodes"].size();
  const std::size_t total = answering + report["missing"].size();
  std::cout << answering << " of " << total << " node" << (total == 1 ? "" : "s") << " answering";
  if (!report["left"].empty()) {
    std::string names;
    for (const auto& node : report["left"]) {
      const std::string name = node.value("node", "");
      names += (names.empty() ? "" : ", ") +
               (name.empty() ? short_id(node.value("server_id", "")) : name);
    }
    std::cout << " (" << names << " stopped on purpose)";
  }
  std::cout << '\n';
}

struct Flags {
  std::vector<std::string> servers;
  OutputFlags output;
  std::string wait = "300ms";
  std::string watch;  // empty: once
  bool watching = false;
  int count = 0;  // with --watch: stop after this many rounds; 0: until interrupted
};

// One round: ask every node, report. Returns false when no node answered.
bool report_once(natsConnection* connection, const Flags& flags,
                 std::map<std::string, std::string>& known) {
  const Json report = gather_status(connection, parse_duration(flags.wait), known);
  const Json& nodes = report["nodes"];
  const Format format = flags.output.format();
  if (format == Format::json) {
    std::cout << format_json(report);
  } else {
    // Clear a terminal between rounds; a pipe or file gets the tables one after the other.
    if (flags.watching && stdout_is_terminal()) std::cout << "\033[H\033[2J";
    print_table(report, format);
  }
  std::cout.flush();
  return !nodes.empty();
}

}  // namespace

void add_status_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<Flags>();
  CLI::App* command =
      app.add_subcommand("status", "The registry cluster at a glance: every node and its peers");
  add_server_option(*command, flags->servers);
  add_output_options(*command, flags->output,
                     "{\"nodes\": [status, ...], \"missing\": [...], \"left\": [...]}, one "
                     "per round");
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
      std::map<std::string, std::string> known;
      for (int round = 1;; ++round) {
        const bool answered = report_once(connection->get(), *flags, known);
        if (!flags->watching) {
          if (!answered) {
            print_error("no registry node answered on " + std::string(detail::kStatusSubject));
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
