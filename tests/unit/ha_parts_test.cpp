// The client's high-availability building blocks without processes: the `polaris` declaration
// field, payload splitting, the reply cache and the timer.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "client/payload_split.hpp"
#include "client/reply_cache.hpp"
#include "client/timer.hpp"
#include "polaris/tool.hpp"
#include "registry/write_acks.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;

TEST(PolarisField, IsModelledAndNeverKeptAsAnUnknownField) {
  const Json wire = {
      {"name", "add"},
      {"description", "adds"},
      {"parametersJsonSchema", {{"type", "object"}}},
      {"polaris",
       {{"replicable", true}, {"idempotent", false}, {"timeout_ms", 1500}, {"replicas", 3}}}};
  const auto declaration = ToolDeclaration::from_json(wire);
  ASSERT_TRUE(declaration.polaris);
  EXPECT_TRUE(declaration.polaris->replicable);
  EXPECT_FALSE(declaration.polaris->idempotent);
  EXPECT_EQ(declaration.polaris->timeout, 1500ms);
  EXPECT_EQ(declaration.polaris->replicas, 3U);
  EXPECT_TRUE(declaration.polaris->agent.empty());
  EXPECT_EQ(declaration.extra, (Json{{"parametersJsonSchema", {{"type", "object"}}}}));
  EXPECT_EQ(declaration.to_json(), wire);  // forwarding loses nothing
}

TEST(PolarisField, AbsentOrMalformedMeansNone) {
  EXPECT_FALSE(ToolDeclaration::from_json({{"name", "a"}}).polaris);
  const auto malformed = ToolDeclaration::from_json({{"name", "a"}, {"polaris", "yes"}});
  EXPECT_FALSE(malformed.polaris);
  EXPECT_FALSE(malformed.extra.contains("polaris"));
  const auto odd = ToolPolarisInfo::from_json({{"replicable", "yes"}, {"timeout_ms", -5}});
  EXPECT_FALSE(odd.replicable);
  EXPECT_EQ(odd.timeout, 0ms);
}

TEST(PolarisField, ExtraCannotOverrideIt) {
  ToolDeclaration declaration{.name = "a", .extra = {{"polaris", {{"agent", "forged"}}}}};
  EXPECT_FALSE(declaration.to_json().contains("polaris"));
  declaration.polaris = ToolPolarisInfo{.agent = "real"};
  EXPECT_EQ(declaration.to_json()["polaris"]["agent"], "real");
}

TEST(SplitBodies, EveryBodyFitsAndEveryItemIsInExactlyOne) {
  std::vector<std::string> items;
  for (int i = 0; i < 100; ++i) items.push_back(Json{{"name", "tool_" + std::to_string(i)}}.dump());
  const auto split = detail::split_bodies(items, "[", "]", 200);
  EXPECT_GT(split.bodies.size(), 5U);
  EXPECT_TRUE(split.too_large.empty());
  std::size_t next = 0;
  for (std::size_t b = 0; b < split.bodies.size(); ++b) {
    EXPECT_LE(split.bodies[b].size(), 200U);
    const Json parsed = Json::parse(split.bodies[b]);
    ASSERT_EQ(parsed.size(), split.members[b].size());
    for (std::size_t m = 0; m < parsed.size(); ++m) {
      EXPECT_EQ(split.members[b][m], next);  // order kept
      EXPECT_EQ(parsed[m].dump(), items[next++]);
    }
  }
  EXPECT_EQ(next, items.size());
}

TEST(SplitBodies, AnItemTooLargeIsReportedAndTheRestStillGoes) {
  const std::vector<std::string> items{"1", std::string(50, '2'), "3"};
  const auto split = detail::split_bodies(items, R"({"tools":[)", "]}", 20);
  EXPECT_EQ(split.too_large, std::vector<std::size_t>{1});
  ASSERT_EQ(split.bodies.size(), 1U);
  EXPECT_EQ(split.bodies[0], R"({"tools":[1,3]})");
  EXPECT_TRUE(detail::split_bodies({}, "[", "]", 20).bodies.empty());
}

TEST(WriteAcks, CompleteOnceEveryPeerConfirmedEveryPart) {
  detail::WriteAcks acks;
  const auto write = acks.begin({"n1", "n2"}, 2);
  EXPECT_FALSE(acks.complete(write));
  EXPECT_FALSE(acks.confirm(write, "n1"));
  EXPECT_FALSE(acks.confirm(write, "stranger"));  // not expected: ignored
  EXPECT_FALSE(acks.confirm(write, "n1"));
  EXPECT_FALSE(acks.confirm(write, "n1"));  // a repeat changes nothing
  EXPECT_EQ(acks.missing(write), std::vector<std::string>{"n2"});
  EXPECT_FALSE(acks.confirm(write, "n2"));
  EXPECT_TRUE(acks.confirm(write, "n2"));
  EXPECT_TRUE(acks.complete(write));
  acks.end(write);
  EXPECT_FALSE(acks.confirm(write, "n2"));        // forgotten
  EXPECT_TRUE(acks.complete(acks.begin({}, 1)));  // nobody to wait for
}

TEST(ReplyCache, RunsOnceJoinsWhileRunningAnswersAfter) {
  detail::ReplyCache cache;
  EXPECT_EQ(cache.admit("c1", "r1", true).kind, detail::ReplyCache::Kind::run);
  EXPECT_TRUE(cache.running("c1"));
  EXPECT_EQ(cache.admit("c1", "r2", true).kind, detail::ReplyCache::Kind::joined);
  EXPECT_EQ(cache.finish("c1", "reply"), std::vector<std::string>{"r2"});
  EXPECT_FALSE(cache.running("c1"));
  const auto again = cache.admit("c1", "r3", true);
  EXPECT_EQ(again.kind, detail::ReplyCache::Kind::answered);
  EXPECT_EQ(again.reply, "reply");
  EXPECT_EQ(cache.admit("c2", "r", false).kind, detail::ReplyCache::Kind::unknown);
}

TEST(ReplyCache, AnAbandonedCallMayRunAgain) {
  detail::ReplyCache cache;
  ASSERT_EQ(cache.admit("c", "r1", true).kind, detail::ReplyCache::Kind::run);
  ASSERT_EQ(cache.admit("c", "r2", true).kind, detail::ReplyCache::Kind::joined);
  EXPECT_EQ(cache.abandon("c"), std::vector<std::string>{"r2"});
  EXPECT_EQ(cache.admit("c", "r3", true).kind, detail::ReplyCache::Kind::run);
}

TEST(ReplyCache, ForgetsTheOldestBeyondItsBoundsAndAfterItsLifetime) {
  detail::ReplyCache by_count(60s, 2);
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_EQ(by_count.admit(id, "r", true).kind, detail::ReplyCache::Kind::run);
    by_count.finish(id, "x");
  }
  EXPECT_EQ(by_count.admit("a", "r", false).kind, detail::ReplyCache::Kind::unknown);
  EXPECT_EQ(by_count.admit("c", "r", false).kind, detail::ReplyCache::Kind::answered);

  detail::ReplyCache by_bytes(60s, 100, 10);
  by_bytes.admit("a", "r", true);
  by_bytes.finish("a", std::string(20, 'x'));
  EXPECT_EQ(by_bytes.admit("a", "r", false).kind, detail::ReplyCache::Kind::unknown);

  detail::ReplyCache by_time(0ms);
  by_time.admit("a", "r", true);
  by_time.finish("a", "x");
  EXPECT_EQ(by_time.admit("a", "r", false).kind, detail::ReplyCache::Kind::unknown);
}

TEST(Timer, RunsJobsInTimeOrderAndSkipsCancelledOnes) {
  detail::Timer timer;
  std::mutex mutex;
  std::vector<int> order;
  std::promise<void> done;
  const auto now = detail::Timer::Clock::now();
  auto record = [&](int value) {
    return [&, value] {
      std::lock_guard lock(mutex);
      order.push_back(value);
      if (value == 3) done.set_value();
    };
  };
  timer.schedule(now + 30ms, record(3));
  const auto cancelled = timer.schedule(now + 10ms, record(99));
  timer.schedule(now + 20ms, record(2));
  timer.schedule(now, record(1));
  timer.cancel(cancelled);
  ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Timer, JobsMayScheduleJobsAndStopDropsTheRest) {
  detail::Timer timer;
  std::atomic<int> runs{0};
  std::promise<void> second;
  timer.schedule(detail::Timer::Clock::now(), [&] {
    ++runs;
    timer.schedule(detail::Timer::Clock::now(), [&] {
      ++runs;
      second.set_value();
    });
  });
  ASSERT_EQ(second.get_future().wait_for(10s), std::future_status::ready);
  timer.schedule(detail::Timer::Clock::now() + 1h, [&] { ++runs; });
  timer.stop();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(timer.schedule(detail::Timer::Clock::now(), [&] { ++runs; }), 0U);
}

}  // namespace
}  // namespace polaris
