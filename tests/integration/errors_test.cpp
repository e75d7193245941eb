// Bad input and failures: clear errors, nothing crashes, nothing hangs.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <future>

#include "polaris/polaris.hpp"
#include "registry/nats_server.hpp"
#include "support/calculator.hpp"
#include "support/errors.hpp"
#include "support/process_fixtures.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using test::add;
using test::calculator;

using test::code_of;

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

class ErrorsTest : public ::testing::Test {
 protected:
  Registry registry_ = Registry::start({.bind = {.port = 0}, .max_payload = 64 * 1024});
  Connection agent_ = connect({.servers = {registry_.client_url()}});
  Connection client_ = connect({.servers = {registry_.client_url()}});
};

TEST_F(ErrorsTest, HandlerErrorAndExceptionBecomeToolErrors) {
  std::vector<std::string> reported;
  std::mutex reported_mutex;
  agent_.register_tool({.name = "flaky",
                        .handler = [](const Request& request) -> Result {
                          if (request.boolean("throw")) throw std::runtime_error("boom");
                          return error("always fails");
                        },
                        .on_error =
                            [&](const std::string& tool, const std::string& message) {
                              std::lock_guard lock(reported_mutex);
                              reported.push_back(tool + ": " + message);
                            }});
  EXPECT_EQ(code_of([&] { client_.call("flaky"); }), Errc::tool_failed);
  EXPECT_EQ(message_of([&] { client_.call("flaky"); }), "always fails");
  EXPECT_EQ(message_of([&] { client_.call("flaky", {{"throw", true}}); }), "boom");
  // The agent survived and still serves.
  EXPECT_EQ(message_of([&] { client_.call("flaky"); }), "always fails");
  std::lock_guard lock(reported_mutex);
  EXPECT_EQ(reported.size(), 4U);
  EXPECT_EQ(reported[2], "flaky: boom");
}

TEST_F(ErrorsTest, DivideByZeroIsTheHandlersMessage) {
  agent_.register_tool(calculator());
  EXPECT_EQ(message_of([&] {
              client_.call("calculator", {{"operation", "divide"}, {"a", 1}, {"b", 0}});
            }),
            "divide by zero");
}

TEST_F(ErrorsTest, ArgumentsAreValidatedBeforeTheHandlerRuns) {
  std::atomic<int> runs{0};
  Tool tool = calculator();
  auto inner = tool.handler;
  tool.handler = [&](const Request& request) {
    ++runs;
    return inner(request);
  };
  agent_.register_tool(tool);
  EXPECT_EQ(message_of([&] {
              client_.call("calculator", {{"operation", "pow"}, {"a", 1}, {"b", "two"}});
            }),
            "invalid arguments: operation must be one of add, subtract, multiply, divide, not the "
            "string \"pow\"; b must be a number, not the string \"two\"");
  EXPECT_EQ(message_of([&] {
              client_.call("calculator", {{"operation", "add"}});
            }),
            "invalid arguments: a is required; b is required");
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(client_.call("calculator", add(1, 2))["result"], 3.0);
  EXPECT_EQ(runs, 1);
}

TEST_F(ErrorsTest, UnknownToolFailsWithNoSuchToolNotTimeout) {
  // A long timeout: a timeout would mean we waited it out instead of hearing no-responders.
  const auto action = [&] { client_.call("nobody_serves_this", {}, {.timeout = 30s}); };
  EXPECT_EQ(code_of(action), Errc::no_such_tool);
  EXPECT_EQ(message_of(action), "no such tool: nobody_serves_this");
  EXPECT_EQ(code_of([&] { client_.call_async("nobody", {}, {.timeout = 30s}).get(); }),
            Errc::no_such_tool);
}

TEST_F(ErrorsTest, InvalidCallArguments) {
  EXPECT_EQ(code_of([&] { client_.call("calculator", Json::array()); }), Errc::invalid_argument);
  EXPECT_EQ(code_of([&] { client_.call("bad name", {}); }), Errc::invalid_argument);
  EXPECT_EQ(code_of([&] { client_.call("wild.*", {}); }), Errc::invalid_argument);
}

TEST_F(ErrorsTest, MalformedJsonOnEveryRegistrySubjectGetsAnErrorReply) {
  test::RawNats raw(registry_.client_url());
  for (const char* subject :
       {"polaris:tool:register", "polaris:tool:unregister", "polaris:tool:keepalive"}) {
    const Json reply = Json::parse(raw.request(subject, "{this is not json"));
    EXPECT_EQ(reply["success"], false) << subject;
    EXPECT_NE(reply["msg"].get<std::string>().find("invalid request: the body is not valid JSON"),
              std::string::npos)
        << reply.dump();
  }
  EXPECT_EQ(Json::parse(raw.request("polaris:tool:register", "[1,2]"))["msg"],
            "register: the declaration is not a JSON object");
  EXPECT_EQ(Json::parse(raw.request("polaris:tool:register", R"({"name": ""})"))["msg"],
            "register: the tool name is empty");
  EXPECT_EQ(Json::parse(raw.request("polaris:tool:keepalive", R"({"name": "x"})"))["msg"],
            "keepalive: the body must be a JSON array of declarations");
  EXPECT_TRUE(Json::parse(raw.request("polaris:tool:list", "garbage")).is_array());
  // Nothing broke: the registry still registers and lists.
  agent_.register_tool(calculator());
  EXPECT_EQ(client_.list_tools().size(), 1U);
}

TEST_F(ErrorsTest, MalformedJsonOnAToolSubjectGetsAnErrorAndTheHandlerDoesNotRun) {
  std::atomic<int> runs{0};
  agent_.register_tool({.name = "counter", .handler = [&](const Request&) -> Result {
                          ++runs;
                          return {{"ok", true}};
                        }});
  test::RawNats raw(registry_.client_url());
  EXPECT_EQ(Json::parse(raw.request("polaris:user-func:counter", "{oops")),
            Json({{"_error", "invalid request: the body is not valid JSON"}}));
  EXPECT_EQ(Json::parse(raw.request("polaris:user-func:counter", "42")),
            Json({{"_error", "invalid request: the arguments must be a JSON object, not number"}}));
  EXPECT_EQ(Json::parse(raw.request("polaris:user-func:counter", "")),
            Json({{"_error", "invalid request: the body is not valid JSON"}}));
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(client_.call("counter"), Json({{"ok", true}}));
  EXPECT_EQ(runs, 1);
}

TEST_F(ErrorsTest, OversizedRequestAndReply) {
  agent_.register_tool(
      {.name = "big", .handler = [](const Request& request) -> Result {
         return {{"data", std::string(static_cast<std::size_t>(request.integer("size")), 'x')}};
       }});
  EXPECT_EQ(client_.max_payload(), 64 * 1024);
  EXPECT_EQ(client_.call("big", {{"size", 10}})["data"], "xxxxxxxxxx");
  const auto too_big_reply = [&] { client_.call("big", {{"size", 100 * 1024}}); };
  EXPECT_EQ(code_of(too_big_reply), Errc::tool_failed);
  EXPECT_NE(message_of(too_big_reply).find("exceeds the max payload of 65536 bytes"),
            std::string::npos)
      << message_of(too_big_reply);
  const auto too_big_request = [&] {
    client_.call("big", {{"size", 1}, {"padding", std::string(100 * 1024, 'y')}});
  };
  EXPECT_EQ(code_of(too_big_request), Errc::payload_too_large);
}

TEST(Errors, CallInFlightWithoutRetryFailsAtOnceWhenTheConnectionDrops) {
  // Declared before the agent, which must be destroyed (waiting for its handler) first.
  std::promise<void> started;
  std::promise<void> release;
  auto released = release.get_future().share();
  auto registry = Registry::start({.bind = {.port = 0}});
  auto agent = connect({.servers = {registry.client_url()}});
  auto client = connect({.servers = {registry.client_url()}, .reconnect_wait = 50ms});
  agent.register_tool({.name = "slow", .handler = [&](const Request&) -> Result {
                         started.set_value();
                         released.wait_for(20s);
                         return {{"done", true}};
                       }});
  // The timeout is long: failing with timeout instead of connection_lost would show the bug.
  auto call = client.call_async("slow", {}, {.timeout = 20s, .retry = false});
  started.get_future().wait();
  registry.close();  // the node dies under the call
  EXPECT_EQ(code_of([&] { call.get(); }), Errc::connection_lost);
  release.set_value();
}

TEST(Errors, NoRegistryIsReportedAsSuch) {
  RegistryOptions bare;
  bare.bind.port = 0;
  detail::NatsServer server(bare, spdlog::default_logger());
  auto client = connect({.servers = {server.client_url()}, .registry_wait = 400ms});
  EXPECT_EQ(code_of([&] { (void)client.list_tools(); }), Errc::no_registry);
  // Registering waits registry_wait for a registry (issue 11, item 8), then says so.
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(message_of([&] { client.register_tool(calculator()); }),
            "no registry answers on polaris:tool:register (tried for 400 ms)");
  EXPECT_GE(std::chrono::steady_clock::now() - started, 400ms);
  EXPECT_EQ(code_of([&] { client.register_tool(calculator()); }), Errc::no_registry);
  EXPECT_TRUE(client.local_tools().empty());
}

TEST(Errors, ConnectFailureIsClear) {
  const auto action = [] { connect({.servers = {"nats://127.0.0.1:1"}, .reconnect = false}); };
  EXPECT_EQ(code_of(action), Errc::connection_failed);
  EXPECT_EQ(message_of(action),
            "cannot connect to nats://127.0.0.1:1: No server available for connection");
}

TEST(Errors, RegistryStartFailureCarriesNatsServerOutput) {
  auto first = Registry::start({.bind = {.port = 0}});
  const int taken = test::port_of(first.client_url());
  try {
    Registry::start({.bind = {.port = taken}});
    FAIL() << "two registries started on one port";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::process);
    EXPECT_NE(std::string(error.what()).find("address already in use"), std::string::npos)
        << error.what();
  }
  try {
    Registry::start({.bind = {.port = 0}, .nats_server_path = "/nonexistent/nats-server"});
    FAIL() << "started without a nats-server";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::process);
    EXPECT_STREQ(error.what(), "cannot find the program '/nonexistent/nats-server'");
  }
}

}  // namespace
}  // namespace polaris
