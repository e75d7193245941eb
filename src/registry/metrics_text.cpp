#include "registry/metrics_text.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>

#include "client/service_discovery.hpp"  // kServiceName, agent_of
#include "client/tool_stats.hpp"         // the histogram's bounds

namespace polaris::detail {
namespace {

// Prometheus buckets: a subset of LatencyHistogram's bounds (so each is exact), in seconds.
constexpr std::array<double, 19> kLeSeconds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                            0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
                                            5,      10,      25,     50,    100};

std::string escape_label(const std::string& value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '"') {
      escaped += "\\\"";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string number(double value) { return fmt::format("{}", value); }

class Writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(const std::string& name, const std::string& labels, double value) {
    text_ += name;
    if (!labels.empty()) text_ += "{" + labels + "}";
    text_ += " " + number(value) + "\n";
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

double number_at(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string string_at(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct EndpointSample {
  std::string labels;  // tool="...",agent="..."
  const Json* endpoint;
};

// Cumulative bucket counts at kLeSeconds, then +Inf (every sample), from the agent's sparse
// [[le_ns, count], ...]. +Inf comes from the same buckets, so the series stays monotonic even
// when the agent's counters moved while it took its snapshot.
std::array<double, kLeSeconds.size() + 1> cumulative(const Json& data) {
  std::array<double, kLeSeconds.size() + 1> counts{};
  const auto buckets = data.find("latency_buckets");
  if (buckets == data.end() || !buckets->is_array()) return counts;
  for (const auto& bucket : *buckets) {
    if (!bucket.is_array() || bucket.size() != 2 || !bucket[0].is_number() ||
        !bucket[1].is_number()) {
      continue;
    }
    counts[kLeSeconds.size()] += bucket[1].get<double>();
    const auto le_ns = bucket[0].get<std::int64_t>();
    if (le_ns < 0) continue;  // above the last bound: only in +Inf
    const double le = static_cast<double>(le_ns) / 1e9;
    for (std::size_t i = 0; i < kLeSeconds.size(); ++i) {
      // A small tolerance: the bounds are exact in ns, the seconds are decimal fractions.
      if (le <= kLeSeconds[i] * (1 + 1e-9)) counts[i] += bucket[1].get<double>();
    }
  }
  return counts;
}

}  // namespace

namespace {

void render_node(Writer& out, const Json& status) {
  out.family("polaris_registry_info", "gauge", "Facts about this registry node (value 1).");
  out.sample("polaris_registry_info",
             fmt::format(R"(node="{}",server_id="{}",version="{}",cluster="{}")",
                         escape_label(string_at(status, "node")),
                         escape_label(string_at(status, "server_id")),
                         escape_label(string_at(status, "version")),
                         escape_label(string_at(status, "cluster"))),
             1);
  out.family("polaris_registry_uptime_seconds", "gauge", "Seconds since this node started.");
  out.sample("polaris_registry_uptime_seconds", "", number_at(status, "uptime_s"));
  out.family("polaris_registry_tools", "gauge", "Tools in this node's catalogue.");
  out.sample("polaris_registry_tools", "", number_at(status, "tools"));
  out.family("polaris_registry_agents", "gauge",
             "Agents owning tools in this node's catalogue (agents with an agent id).");
  out.sample("polaris_registry_agents", "", number_at(status, "agents"));
  out.family("polaris_registry_catalogue_merges_total", "counter",
             "Peer catalogues merged into this node's because they differed for seconds: "
             "replication events this node or a peer missed.");
  out.sample("polaris_registry_catalogue_merges_total", "", number_at(status, "catalogue_merges"));
}

void render_peers(Writer& out, const Json& status) {
  std::size_t peers = 0;
  if (const auto list = status.find("peers"); list != status.end() && list->is_array()) {
    for (const auto& peer : *list) {
      if (!peer.is_object() || !peer.value("left", false)) ++peers;
    }
  }
  out.family("polaris_registry_peers", "gauge",
             "Cluster peers this node has seen since it started, by name (a restarted peer "
             "counts once), except those that shut down on purpose.");
  out.sample("polaris_registry_peers", "", static_cast<double>(peers));
  out.family("polaris_registry_peers_up", "gauge", "Cluster peers routed to this node now.");
  out.sample("polaris_registry_peers_up", "", number_at(status, "peers_up"));
}

/// The endpoints of the agents' $SRV.STATS answers; `agents` counts the polaris agents.
std::vector<EndpointSample> endpoints_of(const std::vector<Json>& agent_stats,
                                         std::size_t& agents) {
  std::vector<EndpointSample> endpoints;
  for (const auto& answer : agent_stats) {
    if (!answer.is_object() || string_at(answer, "type") != "io.nats.micro.v1.stats_response" ||
        string_at(answer, "name") != kServiceName) {
      continue;
    }
    ++agents;
    const std::string agent = escape_label(agent_of(answer));
    const auto list = answer.find("endpoints");
    if (list == answer.end() || !list->is_array()) continue;
    for (const auto& endpoint : *list) {
      if (!endpoint.is_object()) continue;
      endpoints.push_back(
          {fmt::format(R"(tool="{}",agent="{}")", escape_label(string_at(endpoint, "name")), agent),
           &endpoint});
    }
  }
  return endpoints;
}

const Json& data_of(const Json& endpoint) {
  static const Json empty = Json::object();  // immutable
  const auto it = endpoint.find("data");
  return it != endpoint.end() && it->is_object() ? *it : empty;
}

void render_tool_counters(Writer& out, const std::vector<EndpointSample>& endpoints) {
  auto per_endpoint = [&](const char* name, const char* type, const char* help, auto value) {
    out.family(name, type, help);
    for (const auto& sample : endpoints) out.sample(name, sample.labels, value(*sample.endpoint));
  };
  per_endpoint("polaris_tool_calls_total", "counter",
               "Calls received by the tool on this agent (including busy refusals).",
               [](const Json& e) { return number_at(e, "num_requests"); });
  per_endpoint("polaris_tool_errors_total", "counter",
               "Calls of the tool on this agent that failed (including busy refusals).",
               [](const Json& e) { return number_at(e, "num_errors"); });
  per_endpoint("polaris_tool_busy_total", "counter",
               "Calls refused because the tool's pool on this agent was full.",
               [&](const Json& e) { return number_at(data_of(e), "busy"); });
  per_endpoint("polaris_tool_in_flight", "gauge", "Calls of the tool running on this agent now.",
               [&](const Json& e) { return number_at(data_of(e), "in_flight"); });
}

void render_tool_durations(Writer& out, const std::vector<EndpointSample>& endpoints) {
  out.family("polaris_tool_call_duration_seconds", "histogram",
             "Time the tool's handler took, per agent.");
  for (const auto& sample : endpoints) {
    const Json& data = data_of(*sample.endpoint);
    const auto counts = cumulative(data);
    for (std::size_t i = 0; i < kLeSeconds.size(); ++i) {
      out.sample("polaris_tool_call_duration_seconds_bucket",
                 sample.labels + ",le=\"" + number(kLeSeconds[i]) + "\"", counts[i]);
    }
    const double total = counts[kLeSeconds.size()];
    out.sample("polaris_tool_call_duration_seconds_bucket", sample.labels + ",le=\"+Inf\"", total);
    out.sample("polaris_tool_call_duration_seconds_sum", sample.labels,
               number_at(*sample.endpoint, "processing_time") / 1e9);
    out.sample("polaris_tool_call_duration_seconds_count", sample.labels, total);
  }
}

}  // namespace

std::string render_metrics(const Json& status, const std::vector<Json>& agent_stats) {
  Writer out;
  render_node(out, status);
  render_peers(out, status);
  std::size_t agents = 0;
  const auto endpoints = endpoints_of(agent_stats, agents);
  out.family("polaris_agents_reporting", "gauge",
             "polaris agents that answered $SRV.STATS for this scrape.");
  out.sample("polaris_agents_reporting", "", static_cast<double>(agents));
  render_tool_counters(out, endpoints);
  render_tool_durations(out, endpoints);
  return out.take();
}

}  // namespace polaris::detail
