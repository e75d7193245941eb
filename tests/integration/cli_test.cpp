// The polaris program: output formats, exit codes, and the registry's supervision.
#include <gtest/gtest.h>

#include <csignal>

#include "polaris/polaris.hpp"
#include "support/calculator.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

using test::run_program;

test::ProgramResult polaris_cli(std::vector<std::string> args,
                                const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), test::polaris_program());
  return run_program(args, env);
}

class CliTest : public ::testing::Test {
 protected:
  Registry registry_ = Registry::start({.bind = {.port = 0}});
  Connection agent_ = [this] {
    auto agent = connect({.servers = {registry_.client_url()}});
    agent.register_tool(test::calculator());
    agent.register_tool({.name = "echo", .description = "echoes", .handler = [](const Request& r) {
                           return Result(r.json());
                         }});
    return agent;
  }();
};

TEST_F(CliTest, ToolsTableSortedByName) {
  const auto result = polaris_cli({"tools", "--server", registry_.client_url()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "NAME        DESCRIPTION        PARAMETERS\n"
            "calculator  simple calculator  a*:NUMBER b*:NUMBER "
            "operation*:STRING{add|subtract|multiply|divide}\n"
            "echo        echoes             -\n");
}

TEST_F(CliTest, ToolsJsonIsOneArrayOfDeclarations) {
  const auto result = polaris_cli({"tools", "--json", "--server", registry_.client_url()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Json tools = Json::parse(result.out);
  ASSERT_EQ(tools.size(), 2U);
  EXPECT_EQ(tools[0]["name"], "calculator");
  EXPECT_EQ(tools[0]["parameters"], Schema(test::calculator().parameters).to_json());
  // Printed as listed: with the polaris extension field (replicas, not the agent ids).
  EXPECT_EQ(tools[1]["polaris"]["replicas"], 1);
  Json echo = tools[1];
  echo.erase("polaris");
  EXPECT_EQ(echo, Json({{"name", "echo"}, {"description", "echoes"}}));
}

TEST_F(CliTest, ServersFromTheEnvironment) {
  const auto result =
      polaris_cli({"call", "calculator", R"({"operation":"add","a":1,"b":2})"},
                  {"POLARIS_SERVERS=nats://127.0.0.1:1, " + registry_.client_url()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"result\":3.0}\n");
}

TEST_F(CliTest, CallExitCodes) {
  const std::string server = registry_.client_url();
  auto ok = polaris_cli({"call", "echo", R"({"x":[1,2]})", "--server", server});
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.out, "{\"x\":[1,2]}\n");

  auto failed = polaris_cli(
      {"call", "calculator", R"({"operation":"divide","a":1,"b":0})", "--server", server});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_EQ(failed.out, "");
  EXPECT_EQ(failed.err, "error: divide by zero\n");

  auto missing = polaris_cli({"call", "nope", "--server", server});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "error: no such tool: nope\n");

  auto bad_json = polaris_cli({"call", "echo", "{oops", "--server", server});
  EXPECT_EQ(bad_json.exit_code, 2);
  EXPECT_EQ(bad_json.err,
            "error: invalid JSON in the arguments: parse error at line 1, column 2: syntax error "
            "while parsing object key - invalid literal; last read: '{o'; expected string "
            "literal\n");

  auto no_server = polaris_cli({"call", "echo", "--server", "nats://127.0.0.1:1"});
  EXPECT_EQ(no_server.exit_code, 3);
  EXPECT_EQ(no_server.err,
            "error: cannot connect to nats://127.0.0.1:1: No server available for connection\n");
}

TEST(Cli, HelpVersionAndUsageErrors) {
  auto help = polaris_cli({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("registry"), std::string::npos);
  auto registry_help = polaris_cli({"registry", "--help"});
  EXPECT_EQ(registry_help.exit_code, 0);
  EXPECT_NE(registry_help.out.find("--cluster-advertise"), std::string::npos);
  auto version = polaris_cli({"version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("polaris " + std::string(polaris::version()), 0), 0U) << version.out;
  auto unknown = polaris_cli({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err.rfind("error: ", 0), 0U);
  auto bad_port = polaris_cli({"registry", "--port", "70000"});
  EXPECT_EQ(bad_port.exit_code, 2);
}

TEST(Cli, RegistryExitsWithTheChildsLastLinesWhenNatsServerDies) {
  test::RegistryProcess node;
  const auto children = node.child_pids();
  ASSERT_EQ(children.size(), 1U);
  ::kill(children[0], SIGKILL);
  ASSERT_TRUE(node.process().wait_for_exit(std::chrono::seconds(10)));
  EXPECT_EQ(node.process().exit_status(), 1);
  const auto lines = node.process().last_lines();
  std::string output;
  for (const auto& line : lines) output += line + "\n";
  EXPECT_NE(output.find("error: the registry's "), std::string::npos) << output;
  EXPECT_NE(output.find("nats-server was killed by signal 9; its last output:"), std::string::npos)
      << output;
  EXPECT_NE(output.find("Server is ready"), std::string::npos) << output;
}

TEST(Cli, RegistryStopsItsChildOnSigterm) {
  test::RegistryProcess node;
  const int port = test::port_of(node.client_url());
  node.process().signal(SIGTERM);
  ASSERT_TRUE(node.process().wait_for_exit(std::chrono::seconds(10)));
  EXPECT_EQ(node.process().exit_status(), 0);
  EXPECT_FALSE(test::port_accepts(port));
}

}  // namespace
}  // namespace polaris

namespace polaris {
namespace {

TEST_F(CliTest, ServerFlagBeforeThePositionalArguments) {
  const auto result =
      polaris_cli({"call", "--server", registry_.client_url(), "echo", R"({"k":"v"})"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"k\":\"v\"}\n");
}

}  // namespace
}  // namespace polaris
