// One registry node, in process: registration, listing, calling, keepalive.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "polaris/polaris.hpp"
#include "registry/nats_server.hpp"
#include "support/calculator.hpp"
#include "support/line_sink.hpp"
#include "support/process_fixtures.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using test::add;
using test::calculator;

std::vector<std::string> names(const std::vector<ToolDeclaration>& tools) {
  std::vector<std::string> result;
  for (const auto& tool : tools) result.push_back(tool.name);
  std::sort(result.begin(), result.end());
  return result;
}

class RegistryTest : public ::testing::Test {
 protected:
  Registry registry_ = Registry::start({.bind = {.port = 0}});
  Connection connect_client() { return connect({.servers = {registry_.client_url()}}); }
};

TEST_F(RegistryTest, RegisterListCallUnregister) {
  auto agent = connect_client();
  auto client = connect_client();
  agent.register_tool(calculator());
  const auto tools = client.list_tools();
  ASSERT_EQ(names(tools), std::vector<std::string>{"calculator"});
  EXPECT_EQ(tools[0].description, "simple calculator");
  EXPECT_EQ(tools[0].parameters, Schema(calculator().parameters).to_json());
  EXPECT_EQ(client.call("calculator", add(1, 2)), Json({{"result", 3.0}}));
  EXPECT_EQ(client.call_async("calculator", {{"operation", "multiply"}, {"a", 6}, {"b", 7}}).get(),
            Json({{"result", 42.0}}));
  agent.unregister_tool("calculator");
  EXPECT_TRUE(client.list_tools().empty());
  EXPECT_EQ(registry_.tool_count(), 0U);
  try {
    client.call("calculator", add(1, 2));
    FAIL() << "an unregistered tool answered";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::no_such_tool);
  }
}

TEST_F(RegistryTest, DuplicateNameRefusedAndLoserServesNothing) {
  auto owner = connect_client();
  auto loser = connect_client();
  auto client = connect_client();
  owner.register_tool(calculator());
  std::atomic<int> loser_runs{0};
  Tool impostor = calculator();
  impostor.handler = [&](const Request&) -> Result {
    ++loser_runs;
    return {{"result", -1}};
  };
  try {
    loser.register_tool(impostor);
    FAIL() << "a duplicate registration was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::registration_failed);
    EXPECT_STREQ(error.what(), "register: calculator already registered");
  }
  EXPECT_TRUE(loser.local_tools().empty());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(client.call("calculator", add(i, 1))["result"], i + 1.0);
  EXPECT_EQ(loser_runs, 0);
}

TEST(Registry, OverwriteWhenAllowed) {
  auto registry = Registry::start({.bind = {.port = 0}, .allow_overwrite = true});
  auto first = connect({.servers = {registry.client_url()}});
  auto second = connect({.servers = {registry.client_url()}});
  first.register_tool(calculator());
  Tool replacement = calculator();
  replacement.description = "replacement";
  second.register_tool(replacement);
  auto tools = first.list_tools();
  ASSERT_EQ(tools.size(), 1U);
  EXPECT_EQ(tools[0].description, "replacement");
}

TEST_F(RegistryTest, InvalidNamesAndMissingHandlersAreRefused) {
  auto agent = connect_client();
  const std::vector<std::string> invalid{"",        "1up",   "has space",
                                         "dot.ted", "wild*", std::string(65, 'x')};
  for (const auto& name : invalid) {
    Tool tool = calculator(name);
    try {
      agent.register_tool(tool);
      FAIL() << "accepted the name '" << name << "'";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), Errc::invalid_argument);
      EXPECT_NE(std::string(error.what()).find("invalid tool name"), std::string::npos);
    }
  }
  Tool no_handler = calculator("no_handler");
  no_handler.handler = nullptr;
  EXPECT_THROW(agent.register_tool(no_handler), Error);
  EXPECT_TRUE(agent.list_tools().empty());
}

TEST_F(RegistryTest, CloseUnregisters) {
  auto client = connect_client();
  {
    auto agent = connect_client();
    agent.register_tool(calculator("one"));
    agent.register_tool(calculator("two"));
    EXPECT_EQ(names(client.list_tools()), (std::vector<std::string>{"one", "two"}));
  }  // destruction closes
  EXPECT_TRUE(client.list_tools().empty());
  auto agent = connect_client();
  agent.register_tool(calculator("three"));
  agent.close();
  agent.close();  // idempotent
  EXPECT_TRUE(client.list_tools().empty());
  try {
    agent.call("three", add(1, 1));
    FAIL() << "a closed connection made a call";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::not_connected);
  }
}

// Closing withdraws every tool with one polaris.registry.agent.leave request (the registry logs
// one departure, no unregistration per tool).
TEST(Registry, ClosingAnAgentWithdrawsAllItsToolsAtOnce) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(2000);
  auto log = std::make_shared<spdlog::logger>("leave-test", sink);
  log->set_level(spdlog::level::info);
  // An agent timeout of a minute: only the departure can empty the catalogue this quickly.
  auto registry = Registry::start({.bind = {.port = 0}, .agent_timeout = 60s, .logger = log});
  auto client = connect({.servers = {registry.client_url()}});
  std::vector<Tool> tools;
  for (int i = 0; i < 200; ++i) tools.push_back(calculator("t" + std::to_string(i)));
  auto agent = connect({.servers = {registry.client_url()}});
  agent.register_tools(std::move(tools));
  EXPECT_EQ(registry.tool_count(), 200U);
  agent.close();
  EXPECT_EQ(registry.tool_count(), 0U);
  const auto lines = sink->last_formatted();
  const auto count = [&](const std::string& text) {
    return std::count_if(lines.begin(), lines.end(), [&](const std::string& line) {
      return line.find(text) != std::string::npos;
    });
  };
  EXPECT_EQ(count("left, withdrawing its 200 tool(s)"), 1) << testing::PrintToString(lines);
  EXPECT_EQ(count("unregistered t"), 0) << testing::PrintToString(lines);
  EXPECT_TRUE(client.list_tools().empty());
}

// unregister_all withdraws everything in one request yet leaves the connection an agent: it
// registers again, stays listed and answers calls (the registry forgot the old departure).
TEST_F(RegistryTest, UnregisterAllThenRegisterAgain) {
  auto agent = connect_client();
  auto client = connect_client();
  agent.register_tools({calculator("a"), calculator("b"), calculator("c")});
  agent.unregister_all();
  EXPECT_TRUE(agent.local_tools().empty());
  EXPECT_TRUE(client.list_tools().empty());
  agent.register_tool(calculator("again"));
  EXPECT_EQ(names(client.list_tools()), std::vector<std::string>{"again"});
  EXPECT_EQ(client.call("again", add(2, 2))["result"], 4.0);
  // Still listed through a whole agent timeout (2.5 s): the departure does not linger.
  EXPECT_FALSE(test::wait_until([&] { return client.list_tools().empty(); }, 3s));
}

// Closing waits for the calls in flight, whose callers get their replies; tools still busy when
// the drain timeout ends are reported together (one timeout for all, not one per tool).
TEST_F(RegistryTest, CloseWaitsForCallsInFlightAndTheirCallersGetTheReplies) {
  auto sink = std::make_shared<test::LineSink>();
  auto agent = connect({.servers = {registry_.client_url()},
                        .drain_timeout = 100ms,
                        .logger = std::make_shared<spdlog::logger>("closing-agent", sink)});
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0};
  for (const std::string name : {"slow_a", "slow_b"}) {
    agent.register_tool(Tool{.name = name, .handler = [&, released](const Request&) -> Result {
                               ++started;
                               released.wait();
                               return {{"done", true}};
                             }});
  }
  auto client = connect_client();
  auto first = client.call_async("slow_a", Json::object());
  auto second = client.call_async("slow_b", Json::object());
  ASSERT_TRUE(test::wait_until([&] { return started == 2; }));
  std::thread closer([&] { agent.close(); });
  const bool reported = test::wait_until(
      [&] { return sink->contains("2 tool(s) still running calls after 100 ms"); });
  release.set_value();
  closer.join();
  EXPECT_TRUE(reported);
  EXPECT_EQ(first.get()["done"], true);
  EXPECT_EQ(second.get()["done"], true);
  EXPECT_TRUE(client.list_tools().empty());
}

TEST_F(RegistryTest, LocalToolRunsWithoutTheNetwork) {
  auto agent = connect_client();
  std::thread::id ran_on;
  Tool tool = calculator("local_calc");
  auto inner = tool.handler;
  tool.handler = [&](const Request& request) {
    ran_on = std::this_thread::get_id();
    return inner(request);
  };
  agent.register_tool(tool);
  EXPECT_EQ(agent.call("local_calc", add(2, 2)), Json({{"result", 4.0}}));
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(agent.call_async("local_calc", add(3, 3)).get(), Json({{"result", 6.0}}));
}

TEST_F(RegistryTest, ManyThreadsCallAtOnce) {
  auto agent = connect_client();
  auto client = connect_client();
  agent.register_tool(calculator());
  std::atomic<int> correct{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (client.call("calculator", add(t, i))["result"] == t + i + 0.0) ++correct;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(correct, 400);
}

TEST(Registry, KeepaliveReAddsAToolOnARegistryThatRestarted) {
  // Restart on the same port: pick it from a first start.
  auto registry = Registry::start({.bind = {.port = 0}});
  const std::string url = registry.client_url();
  const int port = test::port_of(url);
  auto agent = connect({.servers = {url}, .reconnect_wait = 50ms, .keepalive_interval = 200ms});
  agent.register_tool(calculator());
  registry.close();
  registry = Registry::start({.bind = {.port = port}});
  EXPECT_EQ(registry.tool_count(), 0U);  // a restarted node starts empty
  ASSERT_TRUE(test::wait_until([&] { return registry.tool_count() == 1; }));
  auto client = connect({.servers = {url}});
  EXPECT_EQ(client.call("calculator", add(1, 2))["result"], 3.0);
}

TEST(Registry, ToolsNotKeptAliveExpire) {
  auto registry = Registry::start({.bind = {.port = 0}, .keepalive_deadline = 300ms});
  auto agent = connect({.servers = {registry.client_url()}, .keepalive_interval = 0ms});
  agent.register_tool(calculator());
  EXPECT_EQ(registry.tool_count(), 1U);
  EXPECT_TRUE(test::wait_until([&] { return registry.tool_count() == 0; }));
}

}  // namespace
}  // namespace polaris

namespace polaris {
namespace {

TEST(Registry, AttachesToAnExistingNatsServerAndLaunchesNothing) {
  RegistryOptions bare;
  bare.bind.port = 0;
  detail::NatsServer nats(bare, spdlog::default_logger());
  auto registry = Registry::start({.nats_urls = {nats.client_url()}});
  EXPECT_EQ(registry.client_url(), nats.client_url());
  EXPECT_TRUE(registry.cluster_url().empty());
  auto agent = connect({.servers = {nats.client_url()}});
  agent.register_tool(test::calculator());
  auto client = connect({.servers = {nats.client_url()}});
  EXPECT_EQ(client.list_tools().size(), 1U);
  EXPECT_EQ(client.call("calculator", test::add(2, 3))["result"], 5.0);
  registry.close();
  // The NATS server it attached to is not ours to stop.
  EXPECT_TRUE(nats.process().running());
  EXPECT_EQ(client.call("calculator", test::add(2, 3))["result"], 5.0);
}

}  // namespace
}  // namespace polaris

namespace polaris {
namespace {

using namespace std::chrono_literals;

// A handler that blocks until the test opens the gate, counting how many run at once.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  int running = 0;
  void wait_open() {
    std::unique_lock lock(mutex);
    ++running;
    cv.notify_all();
    cv.wait_for(lock, 20s, [this] { return open; });
    --running;
  }
  bool await_running(int count) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 10s, [&] { return running == count; });
  }
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    cv.notify_all();
  }
};

class ConcurrencyTest : public ::testing::Test {
 protected:
  Gate gate_;  // declared first: destroyed after the connections that use it
  Registry registry_ = Registry::start({.bind = {.port = 0}});
  Connection agent_ = connect({.servers = {registry_.client_url()}});
  Connection client_ = connect({.servers = {registry_.client_url()}});
};

TEST_F(ConcurrencyTest, ASlowCallDoesNotDelayTheOthers) {
  agent_.register_tool({.name = "maybe_slow",
                        .handler = [this](const Request& request) -> Result {
                          if (request.boolean("slow")) gate_.wait_open();
                          return {{"slow", request.boolean("slow")}};
                        },
                        .concurrency = 2});
  auto slow = client_.call_async("maybe_slow", {{"slow", true}}, {.timeout = 30s});
  ASSERT_TRUE(gate_.await_running(1));
  EXPECT_EQ(client_.call("maybe_slow", {{"slow", false}}), Json({{"slow", false}}));
  gate_.release();
  EXPECT_EQ(slow.get(), Json({{"slow", true}}));
}

TEST_F(ConcurrencyTest, AFullPoolAnswersBusyAtOnce) {
  agent_.register_tool({.name = "single",
                        .handler = [this](const Request&) -> Result {
                          gate_.wait_open();
                          return {{"done", true}};
                        },
                        .concurrency = 1});
  auto running = client_.call_async("single", {}, {.timeout = 30s});
  ASSERT_TRUE(gate_.await_running(1));
  auto waiting = client_.call_async("single", {}, {.timeout = 30s});  // the one waiting place
  try {
    // A long timeout: a timeout instead of busy would show that the caller waited.
    client_.call("single", {}, {.timeout = 30s});
    FAIL() << "a third call was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::busy);
    EXPECT_STREQ(error.what(),
                 "busy: single is already running 2 calls on this agent; retry later");
  }
  gate_.release();
  EXPECT_EQ(running.get(), Json({{"done", true}}));
  EXPECT_EQ(waiting.get(), Json({{"done", true}}));
}

TEST_F(ConcurrencyTest, HandlersSeeTheCallersDeadline) {
  agent_.register_tool({.name = "deadline", .handler = [](const Request& request) -> Result {
                          const auto left = request.remaining();
                          return {{"has_deadline", left.has_value()},
                                  {"remaining_ms", left ? left->count() : -1},
                                  {"cancelled", request.cancelled()}};
                        }});
  const Json reply = client_.call("deadline", {}, {.timeout = 3s});
  EXPECT_EQ(reply["has_deadline"], true);
  EXPECT_GT(reply["remaining_ms"].get<int>(), 0);
  EXPECT_LE(reply["remaining_ms"].get<int>(), 3000);
  EXPECT_EQ(reply["cancelled"], false);
  // A reference caller sends no deadline.
  test::RawNats raw(registry_.client_url());
  EXPECT_EQ(Json::parse(raw.request("polaris:user-func:deadline", "{}"))["has_deadline"], false);
}

TEST_F(ConcurrencyTest, CloseLetsCallsInFlightFinishThenUnregisters) {
  agent_.register_tool({.name = "finishing", .handler = [this](const Request& request) -> Result {
                          gate_.wait_open();
                          return {{"cancelled_seen", request.cancelled()}};
                        }});
  auto call = client_.call_async("finishing", {}, {.timeout = 30s});
  ASSERT_TRUE(gate_.await_running(1));
  std::thread closer([this] { agent_.close(); });
  // While draining, the tool takes no new calls.
  EXPECT_TRUE(test::wait_until([&] {
    try {
      client_.call("finishing", {}, {.timeout = 1s});
      return false;
    } catch (const Error& error) {
      return error.code() == Errc::no_such_tool;
    }
  }));
  gate_.release();
  Json reply;
  try {
    reply = call.get();
  } catch (const Error& error) {
    ADD_FAILURE() << "the call in flight failed: " << error.what();
  }
  closer.join();
  EXPECT_EQ(reply, Json({{"cancelled_seen", true}}));  // it saw the agent closing
  EXPECT_TRUE(client_.list_tools().empty());
}

}  // namespace
}  // namespace polaris

namespace polaris {
namespace {

// Unregistering a tool, or closing its connection, waits for its handlers: from inside one of
// them that would wait forever, so it is refused with a clear error instead.
TEST(Registry, AHandlerCannotUnregisterItselfOrCloseItsConnection) {
  auto registry = Registry::start({.bind = {.port = 0}});
  auto agent = connect({.servers = {registry.client_url()}});
  agent.register_tool(
      {.name = "self_destruct", .handler = [&agent](const Request& request) -> Result {
         try {
           if (request.boolean("close")) {
             agent.close();
           } else {
             agent.unregister_tool("self_destruct");
           }
         } catch (const Error& error) {
           return {{"refused", error.what()}};
         }
         return {{"refused", nullptr}};
       }});
  auto client = connect({.servers = {registry.client_url()}});
  EXPECT_EQ(client.call("self_destruct")["refused"],
            "unregister: self_destruct cannot be unregistered (or its connection closed) from "
            "inside its own handler");
  EXPECT_EQ(client.call("self_destruct", {{"close", true}})["refused"],
            "close: a connection cannot be closed from inside one of its tool handlers");
  EXPECT_EQ(client.list_tools().size(), 1U);  // nothing was half done
  agent.close();
  EXPECT_TRUE(client.list_tools().empty());
}

}  // namespace
}  // namespace polaris
