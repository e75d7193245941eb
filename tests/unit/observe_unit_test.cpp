// Observability without processes: the latency histogram, tool counters, status, metrics text.
#include <gtest/gtest.h>

#include <sstream>

#include "client/tool_stats.hpp"
#include "registry/metrics_text.hpp"
#include "registry/status.hpp"

namespace polaris::detail {
namespace {

using namespace std::chrono_literals;

TEST(LatencyHistogram, BucketsAreInclusiveUpperBounds) {
  LatencyHistogram histogram;
  histogram.record(1us);     // bucket 0: up to 1 us
  histogram.record(1001ns);  // bucket 1: up to 1.25 us
  histogram.record(150s);    // overflow
  const auto counts = histogram.snapshot();
  EXPECT_EQ(counts[0], 1U);
  EXPECT_EQ(counts[1], 1U);
  EXPECT_EQ(counts[LatencyHistogram::kBuckets - 1], 1U);
  EXPECT_EQ(LatencyHistogram::bounds().back(), 100'000'000'000);
}

TEST(LatencyHistogram, QuantilesStayInsideTheirBucket) {
  LatencyHistogram histogram;
  for (int i = 0; i < 90; ++i) histogram.record(2ms);   // bucket (1.5 ms, 2 ms]
  for (int i = 0; i < 10; ++i) histogram.record(45ms);  // bucket (40 ms, 50 ms]
  const auto counts = histogram.snapshot();
  const auto p50 = LatencyHistogram::quantile(counts, 0.5, 45ms);
  EXPECT_GT(p50, 1500us);
  EXPECT_LE(p50, 2ms);
  const auto p99 = LatencyHistogram::quantile(counts, 0.99, 45ms);
  EXPECT_GT(p99, 40ms);
  EXPECT_LE(p99, 45ms);  // capped by the maximum seen
  EXPECT_EQ(LatencyHistogram::quantile({}, 0.5, 0ns), 0ns);
}

TEST(ToolStats, InstrumentedHandlerCountsOutcomes) {
  Tool tool{.name = "t", .handler = [](const Request& request) -> Result {
              if (request.json().contains("fail")) return error("failed on purpose");
              if (request.json().contains("throw")) throw std::runtime_error("thrown");
              return Json{{"ok", true}};
            }};
  const auto stats = instrument(tool);
  const Schema none;
  tool.handler(Request(Json::object(), none));
  tool.handler(Request(Json{{"fail", 1}}, none));
  EXPECT_THROW(tool.handler(Request(Json{{"throw", 1}}, none)), std::runtime_error);
  stats->record_busy("busy");
  const auto snapshot = stats->snapshot();
  EXPECT_EQ(snapshot.requests, 4U);
  EXPECT_EQ(snapshot.errors, 3U);
  EXPECT_EQ(snapshot.busy, 1U);
  EXPECT_EQ(snapshot.completed, 3U);
  EXPECT_EQ(snapshot.in_flight, 0U);
  EXPECT_EQ(snapshot.last_error, "busy");
  const Json data = stats_data(snapshot);
  std::uint64_t samples = 0;
  for (const auto& bucket : data.at("latency_buckets")) samples += bucket[1].get<std::uint64_t>();
  EXPECT_EQ(samples, 3U);
}

TEST(Status, BuildsPeersAndCounts) {
  PeerTracker::View view;
  view.available = true;
  view.server_id = "SID";
  view.server_name = "node-1";
  view.peers = {{.id = "P1", .address = "127.0.0.1:1", .rtt = "1ms", .up = true},
                {.id = "P2", .address = "127.0.0.1:2", .rtt = "", .up = false}};
  const Json status = build_status({.cluster_name = "c"}, view, {.tools = 3, .agents = 2});
  EXPECT_EQ(status.at("node"), "node-1");
  EXPECT_EQ(status.at("server_id"), "SID");
  EXPECT_EQ(status.at("peers_up"), 1);
  EXPECT_EQ(status.at("peers").size(), 2U);
  EXPECT_EQ(status.at("tools"), 3);
  EXPECT_EQ(status.at("agents"), 2);
  EXPECT_EQ(status.at("cluster"), "c");
}

TEST(MetricsText, RendersTheAgentsHistogramsCumulatively) {
  const Json status{{"node", "n\"1"},
                    {"tools", 2},
                    {"agents", 1},
                    {"peers_up", 1},
                    {"peers", Json::array({Json::object(), Json::object()})}};
  const Json stats = Json::parse(R"({
    "type": "io.nats.micro.v1.stats_response", "name": "polaris", "id": "AG",
    "endpoints": [{"name": "add", "num_requests": 5, "num_errors": 1,
                   "processing_time": 3000000000,
                   "data": {"in_flight": 1, "busy": 0,
                            "latency_buckets": [[100000, 2], [1000000, 1], [-1, 1]]}}]})");
  const Json foreign = Json::parse(R"({"type": "io.nats.micro.v1.stats_response", "name": "x"})");
  const std::string text = render_metrics(status, {stats, foreign});
  auto has = [&](const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has(R"(polaris_registry_info{node="n\"1",server_id="",version="",cluster=""} 1)"))
      << text;
  EXPECT_TRUE(has("polaris_registry_tools 2")) << text;
  EXPECT_TRUE(has("polaris_registry_peers 2")) << text;
  EXPECT_TRUE(has("polaris_agents_reporting 1")) << text;
  const std::string labels = R"(tool="add",agent="AG")";
  EXPECT_TRUE(has("polaris_tool_calls_total{" + labels + "} 5")) << text;
  EXPECT_TRUE(has("polaris_tool_in_flight{" + labels + "} 1")) << text;
  EXPECT_TRUE(has("polaris_tool_call_duration_seconds_bucket{" + labels + ",le=\"0.0001\"} 2"));
  EXPECT_TRUE(has("polaris_tool_call_duration_seconds_bucket{" + labels + ",le=\"0.001\"} 3"));
  EXPECT_TRUE(has("polaris_tool_call_duration_seconds_bucket{" + labels + ",le=\"100\"} 3"));
  EXPECT_TRUE(has("polaris_tool_call_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 4"));
  EXPECT_TRUE(has("polaris_tool_call_duration_seconds_sum{" + labels + "} 3")) << text;
  EXPECT_TRUE(has("polaris_tool_call_duration_seconds_count{" + labels + "} 4"));
}

}  // namespace
}  // namespace polaris::detail
