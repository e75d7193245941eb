// Observability with real processes: the agents' NATS service-discovery answers, `polaris stats`,
// `polaris status` against a cluster, Prometheus metrics scraped over HTTP, JSON log lines.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <sstream>

#include "http/http_client.hpp"
#include "polaris/polaris.hpp"
#include "support/calculator.hpp"
#include "support/metrics_sample.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"
#include "support/wait.hpp"
#include "transport/gather.hpp"
#include "transport/subscription.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using test::add;
using test::calculator;
using test::run_polaris;

Json divide(double a, double b) { return {{"operation", "divide"}, {"a", a}, {"b", b}}; }

std::vector<Json> gather_json(const std::string& url, const std::string& subject) {
  test::RawNats raw(url);
  std::vector<Json> answers;
  // A generous quiet period: on a loaded machine the second agent may answer late.
  for (const auto& body : detail::gather(raw.get(), subject, "", {.timeout = 5s, .quiet = 1s})) {
    answers.push_back(Json::parse(body));
  }
  return answers;
}

const Json* endpoint_named(const Json& answer, const std::string& name) {
  for (const auto& endpoint : answer.at("endpoints")) {
    if (endpoint.at("name") == name) return &endpoint;
  }
  return nullptr;
}

class ObserveTest : public ::testing::Test {
 protected:
  Registry registry_ = Registry::start({.bind = {.port = 0}, .metrics = Endpoint{.port = 0}});
  Connection agent_ = [this] {
    // (The id with a user's dot, "ops.<random>", is checked by ServiceClientIds in srv_test:
    // an open registry refuses credentials it does not know.)
    auto agent = connect({.servers = {registry_.client_url()}, .name = "observe-agent"});
    agent.register_tool(calculator());
    return agent;
  }();
  Connection client_ = connect({.servers = {registry_.client_url()}});

  // 4 calls that succeed, 2 that fail.
  void make_calls() {
    for (int i = 0; i < 4; ++i) ASSERT_EQ(client_.call("calculator", add(i, 1))["result"], i + 1.0);
    for (int i = 0; i < 2; ++i) EXPECT_THROW(client_.call("calculator", divide(1, 0)), Error);
  }

  // The one id of the agent: the catalogue's, Polaris-Agent's, and (with `_` for the `.`) the
  // service id of $SRV, whose metadata carry the id itself.
  std::string agent_id() {
    const std::string id = agent_.agent_id();
    test::RawNats raw(registry_.client_url());
    const Json ping = Json::parse(raw.request("$SRV.PING.polaris", ""));
    EXPECT_EQ(ping.at("id"), id) << ping;
    EXPECT_EQ(ping.at("metadata").at("agent"), id) << ping;
    return id;
  }
};

TEST_F(ObserveTest, PingInfoAndStatsOnEverySubjectForm) {
  make_calls();
  test::RawNats raw(registry_.client_url());
  const Json ping = Json::parse(raw.request("$SRV.PING", ""));
  EXPECT_EQ(ping.at("type"), "io.nats.micro.v1.ping_response");
  EXPECT_EQ(ping.at("name"), "polaris");
  EXPECT_EQ(ping.at("version"), std::string(version()));
  EXPECT_EQ(ping.at("metadata").at("connection"), "observe-agent");
  const std::string id = ping.at("id").get<std::string>();
  EXPECT_EQ(id, agent_id());
  for (const auto& suffix : std::vector<std::string>{"", ".polaris", ".polaris." + id}) {
    EXPECT_EQ(Json::parse(raw.request("$SRV.PING" + suffix, "")).at("id"), id) << suffix;
    const Json info = Json::parse(raw.request("$SRV.INFO" + suffix, ""));
    EXPECT_EQ(info.at("type"), "io.nats.micro.v1.info_response");
    EXPECT_EQ(info.at("description"), "polaris agent observe-agent");
    ASSERT_EQ(info.at("endpoints").size(), 1U);
    EXPECT_EQ(info["endpoints"][0].at("name"), "calculator");
    EXPECT_EQ(info["endpoints"][0].at("subject"), "polaris:user-func:calculator");
    EXPECT_EQ(info["endpoints"][0].at("metadata").at("description"), "simple calculator");
    const Json stats = Json::parse(raw.request("$SRV.STATS" + suffix, ""));
    EXPECT_EQ(stats.at("type"), "io.nats.micro.v1.stats_response");
    EXPECT_FALSE(stats.at("started").get<std::string>().empty());
    const Json* calculator_stats = endpoint_named(stats, "calculator");
    ASSERT_NE(calculator_stats, nullptr);
    EXPECT_EQ(calculator_stats->at("num_requests"), 6);
    EXPECT_EQ(calculator_stats->at("num_errors"), 2);
    EXPECT_EQ(calculator_stats->at("last_error"), "divide by zero");
    EXPECT_GT(calculator_stats->at("processing_time").get<std::int64_t>(), 0);
    const Json& data = calculator_stats->at("data");
    EXPECT_EQ(data.at("in_flight"), 0);
    EXPECT_EQ(data.at("completed"), 6);
    std::uint64_t samples = 0;
    for (const auto& bucket : data.at("latency_buckets")) samples += bucket[1].get<std::uint64_t>();
    EXPECT_EQ(samples, 6U);
    EXPECT_LE(data["latency_ms"]["p50"].get<double>(), data["latency_ms"]["p99"].get<double>());
    EXPECT_LE(data["latency_ms"]["p99"].get<double>(), data["latency_ms"]["max"].get<double>());
  }
  // Another service's name or another instance's id is not ours to answer.
  EXPECT_THROW(raw.request("$SRV.PING.other", "", 500), Error);
  EXPECT_THROW(raw.request("$SRV.PING.polaris.someoneelse", "", 500), Error);
}

TEST_F(ObserveTest, EveryAgentAnswersAndOnlyAgentsAreServices) {
  auto second = connect({.servers = {registry_.client_url()}});
  second.register_tool(calculator("other"));
  // client_ serves no tool: it is no service.
  const auto answers = gather_json(registry_.client_url(), "$SRV.PING.polaris");
  ASSERT_EQ(answers.size(), 2U);
  EXPECT_NE(answers[0].at("id"), answers[1].at("id"));
  // An unregistered tool leaves the agent's endpoints.
  second.unregister_tool("other");
  const auto infos = gather_json(registry_.client_url(), "$SRV.INFO.polaris");
  ASSERT_EQ(infos.size(), 2U);
  std::size_t endpoints = 0;
  for (const auto& info : infos) endpoints += info.at("endpoints").size();
  EXPECT_EQ(endpoints, 1U);
}

TEST_F(ObserveTest, InFlightAndBusyRefusals) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0};
  agent_.register_tool({.name = "slow",
                        .handler = [&](const Request&) -> Result {
                          ++started;
                          released.wait();
                          return Json{{"done", true}};
                        },
                        .concurrency = 1});
  auto first = client_.call_async("slow");
  ASSERT_TRUE(test::wait_until([&] { return started == 1; }));
  // Calls from one connection reach the tool in order: the second takes the pool's one
  // waiting place, so the third finds the pool full.
  auto waiting = client_.call_async("slow");
  try {
    client_.call("slow");
    ADD_FAILURE() << "the third call was not refused";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::busy) << error.what();
  }
  test::RawNats raw(registry_.client_url());
  const Json stats = Json::parse(raw.request("$SRV.STATS.polaris", ""));
  const Json* slow = endpoint_named(stats, "slow");
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(slow->at("data").at("in_flight"), 1);  // the waiting call has not started
  EXPECT_EQ(slow->at("data").at("busy"), 1);
  EXPECT_EQ(slow->at("num_errors"), 1);
  EXPECT_EQ(slow->at("num_requests"), 2);
  release.set_value();
  EXPECT_EQ(first.get()["done"], true);
  EXPECT_EQ(waiting.get()["done"], true);
}

TEST_F(ObserveTest, StatsCommandTableAndJson) {
  make_calls();
  const std::string id = agent_id();
  const auto table = run_polaris({"stats", "--server", registry_.client_url()});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::istringstream lines(table.out);
  std::string header;
  std::string row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_EQ(header.rfind("TOOL", 0), 0U) << table.out;
  EXPECT_NE(header.find("CALLS  ERRORS"), std::string::npos) << table.out;
  std::istringstream fields(row);
  std::string tool, agent, calls, errors;
  fields >> tool >> agent >> calls >> errors;
  EXPECT_EQ(tool, "calculator");
  EXPECT_EQ(agent, id);
  EXPECT_EQ(calls, "6");
  EXPECT_EQ(errors, "2");

  const auto json =
      run_polaris({"stats", "calculator", "--json", "--server", registry_.client_url()});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const Json rows = Json::parse(json.out);
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].at("calls"), 6);
  EXPECT_EQ(rows[0].at("errors"), 2);
  EXPECT_EQ(rows[0].at("last_error"), "divide by zero");

  const auto missing = run_polaris({"stats", "nope", "--server", registry_.client_url()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "error: no agent reports the tool nope\n");
}

using test::sample;

TEST_F(ObserveTest, MetricsScrapedOverHttp) {
  make_calls();
  const std::string labels = R"({tool="calculator",agent=")" + agent_id() + "\"";
  ASSERT_FALSE(registry_.metrics_url().empty());
  const auto response = http::perform({.method = "GET", .url = registry_.metrics_url()});
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = response.body;
  EXPECT_EQ(sample(text, "polaris_registry_tools"), 1.0) << text;
  EXPECT_EQ(sample(text, "polaris_registry_peers_up"), 0.0) << text;
  EXPECT_EQ(sample(text, "polaris_agents_reporting"), 1.0) << text;
  EXPECT_EQ(sample(text, "polaris_tool_calls_total" + labels + "}"), 6.0) << text;
  EXPECT_EQ(sample(text, "polaris_tool_errors_total" + labels + "}"), 2.0) << text;
  EXPECT_EQ(sample(text, "polaris_tool_in_flight" + labels + "}"), 0.0) << text;
  EXPECT_EQ(sample(text, "polaris_tool_call_duration_seconds_count" + labels + "}"), 6.0) << text;
  EXPECT_EQ(sample(text, "polaris_tool_call_duration_seconds_bucket" + labels + R"(,le="+Inf"})"),
            6.0)
      << text;
  EXPECT_EQ(sample(text, "polaris_tool_call_duration_seconds_bucket" + labels + R"(,le="100"})"),
            6.0)
      << text;
  EXPECT_NE(text.find("# TYPE polaris_tool_call_duration_seconds histogram\n"), std::string::npos);
  // Every sample line is "name{labels} value" or "name value".
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_NO_THROW((void)std::stod(line.substr(line.rfind(' ') + 1))) << line;
  }
  // More calls, higher counters: the values are the agents' live counts.
  client_.call("calculator", add(1, 1));
  const auto again = http::perform({.method = "GET", .url = registry_.metrics_url()});
  EXPECT_EQ(sample(again.body, "polaris_tool_calls_total" + labels + "}"), 7.0);

  auto other_path = registry_.metrics_url();
  other_path.replace(other_path.rfind("/metrics"), 8, "/other");
  EXPECT_EQ(http::perform({.method = "GET", .url = other_path}).status, 404);
}

TEST_F(ObserveTest, HealthAndReadinessProbes) {
  auto url = [&](const std::string& path) {
    std::string text = registry_.metrics_url();
    return text.replace(text.rfind("/metrics"), 8, path);
  };
  const auto health = http::perform({.method = "GET", .url = url("/healthz")});
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  const auto ready = http::perform({.method = "GET", .url = url("/readyz")});
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready\n");
  EXPECT_EQ(http::perform({.method = "POST", .url = url("/readyz")}).status, 405);
}

TEST(ObserveCli, JsonLogLinesParse) {
  auto registry = Registry::start({.bind = {.port = 0}});
  const auto result = run_polaris(
      {"tools", "--log-level", "debug", "--log-format", "json", "--server", registry.client_url()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.err);
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    const Json record = Json::parse(line);  // throws (fails the test) on a non-JSON line
    EXPECT_TRUE(record.at("time").is_string());
    EXPECT_EQ(record.at("logger"), "polaris");
    EXPECT_TRUE(record.at("level").is_string());
    EXPECT_TRUE(record.at("message").is_string());
    ++parsed;
  }
  EXPECT_GT(parsed, 0) << "debug logging printed nothing";
}

TEST(ObserveCli, RegistryLogsJsonLinesIncludingItsNatsServer) {
  test::RegistryProcess node({"--log-format", "json"});  // at --log-level debug
  std::vector<std::string> lines;
  auto has = [&](const std::string& text) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const auto& line) { return line.find(text) != std::string::npos; });
  };
  ASSERT_TRUE(test::wait_until([&] {
    lines = node.process().last_lines();
    return has(" serving on ") && has("nats-server: ");
  }));
  for (const auto& line : lines) {
    const Json record = Json::parse(line);  // throws (fails the test) on a non-JSON line
    EXPECT_EQ(line.rfind(R"({"time":")", 0), 0U) << line;
    EXPECT_EQ(record.at("logger"), "polaris");
    EXPECT_TRUE(record.at("level").is_string());
    EXPECT_TRUE(record.at("message").is_string());
  }
}

TEST(ObserveCli, UsageErrors) {
  const auto bad_metrics = run_polaris({"registry", "--metrics", "nonsense"});
  EXPECT_EQ(bad_metrics.exit_code, 2);
  EXPECT_EQ(bad_metrics.err.rfind("error: ", 0), 0U) << bad_metrics.err;
  const auto bad_format = run_polaris({"tools", "--log-format", "xml"});
  EXPECT_EQ(bad_format.exit_code, 2);
  const auto nobody = run_polaris({"status", "--server", "nats://127.0.0.1:1"});
  EXPECT_EQ(nobody.exit_code, 3);
  for (const char* command : {"status", "stats"}) {
    const auto help = run_polaris({command, "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("--json"), std::string::npos) << help.out;
  }
}

}  // namespace
}  // namespace polaris
