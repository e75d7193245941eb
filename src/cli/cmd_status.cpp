// `polaris status`: every registry node's status at a glance (polaris.registry.status).
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "cli/common.hpp"
#include "cli/observe_common.hpp"
#include "cli/output.hpp"
#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "registry/status.hpp"  // kStatusSubject
#include "transport/gather.hpp"

namespace polaris::cli {
namespace {

// What the answering nodes say of the others. A node is known by its name (stable across its
// restarts; by server id while a peer has not learnt it). A node named as a peer but not
// answering is "down" when every node that knows it has lost its route, else "no answer"
// (routed, but no polaris registry answers there: e.g. a plain nats-server or a hung
// registry); a node some peer saw shut down on purpose has "left" and is not missing. `known`
// maps the names of nodes seen in earlier rounds (--watch) to their server ids, so a node that
// went away is reported even when no peer remembers it.
struct Absent {
  Json missing = Json::array();  // [{node, server_id, state, reported_by}]
  Json left = Json::array();     // [{node, server_id}]
};

Absent absent_nodes(const Json& nodes, const std::map<std::string, std::string>& known) {
  std::set<std::string> answering;  // names and server ids
  for (const auto& node : nodes) {
    answering.insert(node.value("server_id", ""));
    answering.insert(node.value("node", ""));
  }
  answering.erase("");
  std::map<std::string, std::string> name_of_id;
  for (const auto& [name, id] : known) name_of_id[id] = name;
  std::map<std::string, Json> missing;
  std::map<std::string, std::string> left;  // name -> server id
  auto key_of = [&](const std::string& name, const std::string& id) {
    if (!name.empty()) return name;
    const auto it = name_of_id.find(id);
    return it != name_of_id.end() ? it->second : id;
  };
  auto entry = [&](const std::string& key, const std::string& id) -> Json& {
    auto [it, added] = missing.try_emplace(key, Json{{"server_id", id},
                                                     {"node", key == id ? std::string() : key},
                                                     {"state", "down"},
                                                     {"reported_by", Json::array()}});
    return it->second;
  };
  for (const auto& node : nodes) {
    for (const auto& peer : node.value("peers", Json::array())) {
      const std::string id = peer.value("id", "");
      const std::string key = key_of(peer.value("name", ""), id);
      if (key.empty() || answering.count(key) > 0 || answering.count(id) > 0) continue;
      if (peer.value("left", false)) {
        left[key] = id;
        continue;
      }
      Json& record = entry(key, id);
      record["reported_by"].push_back(node.value("node", ""));
      if (peer.value("up", false)) record["state"] = "no answer";
    }
  }
  for (const auto& [name, id] : known) {
    if (answering.count(name) == 0 && left.count(name) == 0) entry(name, id);
  }
  Absent absent;
  for (auto& [key, record] : missing) {
    if (left.count(key) == 0) absent.missing.push_back(std::move(record));
  }
  for (const auto& [key, id] : left) {
    absent.left.push_back({{"node", key == id ? std::string() : key}, {"server_id", id}});
  }
  return absent;
}

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
  const auto quiet = parse_duration(flags.wait);
  Json nodes = Json::array();
  for (const auto& body : detail::gather(
           connection, std::string(detail::kStatusSubject), "",
           {.timeout = std::max(quiet * 10, std::chrono::milliseconds(2000)), .quiet = quiet})) {
    Json node = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (node.is_object()) nodes.push_back(std::move(node));
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const Json& a, const Json& b) { return a.value("node", "") < b.value("node", ""); });
  Absent absent = absent_nodes(nodes, known);
  const Json report{
      {"nodes", nodes}, {"missing", std::move(absent.missing)}, {"left", std::move(absent.left)}};
  for (const auto& node : nodes) {
    const std::string name = node.value("node", "");
    if (!name.empty()) known[name] = node.value("server_id", "");
  }
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
