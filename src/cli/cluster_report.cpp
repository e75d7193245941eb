#include "cli/cluster_report.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "client/service_discovery.hpp"  // kServiceName, agent_of
#include "registry/status.hpp"           // kStatusSubject
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

detail::GatherOptions gather_options(std::chrono::milliseconds quiet) {
  return {.timeout = std::max(quiet * 10, std::chrono::milliseconds(2000)), .quiet = quiet};
}

}  // namespace

Json gather_status(natsConnection* connection, std::chrono::milliseconds quiet,
                   std::map<std::string, std::string>& known) {
  Json nodes = Json::array();
  for (const auto& body :
       detail::gather(connection, std::string(detail::kStatusSubject), "", gather_options(quiet))) {
    Json node = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (node.is_object()) nodes.push_back(std::move(node));
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const Json& a, const Json& b) { return a.value("node", "") < b.value("node", ""); });
  Absent absent = absent_nodes(nodes, known);
  for (const auto& node : nodes) {
    const std::string name = node.value("node", "");
    if (!name.empty()) known[name] = node.value("server_id", "");
  }
  return Json{{"nodes", std::move(nodes)},
              {"missing", std::move(absent.missing)},
              {"left", std::move(absent.left)}};
}

Json gather_stats(natsConnection* connection, std::chrono::milliseconds quiet,
                  const std::string& only_tool) {
  return rows_of(detail::gather(connection, "$SRV.STATS." + std::string(detail::kServiceName), "",
                                gather_options(quiet)),
                 only_tool);
}

}  // namespace polaris::cli
