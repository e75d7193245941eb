// The example agents against a real registry: they find it through POLARIS_SERVERS, serve their
// tools, and log JSON lines through the one program logger when POLARIS_LOG_FORMAT=json.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <set>
#include <string>
#include <vector>

#include "polaris/connection.hpp"
#include "polaris/error.hpp"
#include "polaris/registry.hpp"
#include "process/child_process.hpp"
#include "support/run_program.hpp"
#include "support/wait.hpp"

namespace polaris::test {
namespace {

std::set<std::string> listed(Connection& client) {
  std::set<std::string> names;
  for (const auto& tool : client.list_tools()) names.insert(tool.name);
  return names;
}

/// The example's output lines that are not JSON log records (what it prints for people).
std::vector<std::string> non_json_lines(const std::vector<std::string>& lines) {
  std::vector<std::string> others;
  for (const auto& line : lines) {
    const Json record = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object() || !record.contains("level")) {
      others.push_back(line);
    }
  }
  return others;
}

class Examples : public testing::Test {
 protected:
  /// Starts `program` with the registry in POLARIS_SERVERS and JSON debug logs.
  detail::ChildProcess start(const std::string& program) {
    return detail::ChildProcess(
        {.argv = {program},
         .extra_env = {"POLARIS_SERVERS=" + registry_.client_url(), "POLARIS_LOG_LEVEL=debug",
                       "POLARIS_LOG_FORMAT=json"},
         .on_line = {},
         .kept_lines = 200});
  }

  bool listed_eventually(const std::set<std::string>& expected) {
    return wait_until([&] {
      const auto names = listed(client_);
      return std::includes(names.begin(), names.end(), expected.begin(), expected.end());
    });
  }

  Registry registry_ = Registry::start({.bind = {.port = 0}});
  Connection client_ = connect({.servers = {registry_.client_url()}});
};

TEST_F(Examples, MultiToolAgentServesBothCalculatorsAndLogsJsonLines) {
  auto agent = start(MULTI_TOOL_AGENT);
  ASSERT_TRUE(listed_eventually({"calculatorA", "calculatorB"})) << agent.describe_exit();
  EXPECT_EQ(client_.call("calculatorA", {{"a", 35}, {"b", 21}}).at("result"), 56.0);
  EXPECT_EQ(client_.call("calculatorB", {{"a", 56}, {"b", 88}}).at("result"), 4928.0);

  agent.signal(SIGTERM);
  ASSERT_TRUE(agent.wait_for_exit(std::chrono::seconds(10)));
  EXPECT_EQ(agent.exit_status(), 0) << agent.describe_exit();
  agent.stop();  // drains the last output lines
  EXPECT_TRUE(wait_until([&] { return !listed(client_).contains("calculatorA"); }));

  const auto lines = agent.last_lines();
  EXPECT_TRUE(non_json_lines(lines).empty()) << testing::PrintToString(lines);
  bool saw_registration = false;
  for (const auto& line : lines) {
    const Json record = Json::parse(line);
    EXPECT_EQ(record.at("logger"), "multi-tool-agent") << line;
    if (record.at("message").get<std::string>().find("registered tool calculatorA") !=
        std::string::npos) {
      saw_registration = true;
    }
  }
  EXPECT_TRUE(saw_registration) << testing::PrintToString(lines);
}

TEST_F(Examples, ErrorToolAgentLogsTheFailureAsAJsonErrorRecord) {
  auto agent = start(ERROR_TOOL_AGENT);
  ASSERT_TRUE(listed_eventually({"unstableService"})) << agent.describe_exit();
  try {
    (void)client_.call("unstableService", {{"service", "billing"}});
    FAIL() << "the tool always fails";
  } catch (const polaris::Error& error) {
    EXPECT_EQ(error.code(), Errc::tool_failed);
    EXPECT_NE(std::string(error.what()).find("backend for billing is unreachable"),
              std::string::npos)
        << error.what();
  }
  // The agent's on_error handler logs through spdlog's default logger: the program logger.
  EXPECT_TRUE(wait_until([&] {
    for (const auto& line : agent.last_lines()) {
      const Json record = Json::parse(line, nullptr, false);
      if (!record.is_discarded() && record.is_object() && record.value("level", "") == "error" &&
          record.value("message", "").find("unstableService failed") != std::string::npos) {
        return true;
      }
    }
    return false;
  })) << testing::PrintToString(agent.last_lines());
}

TEST_F(Examples, BadLogSettingsEndTheProgramWithOneLine) {
  const auto bad_format = run_program({MULTI_TOOL_AGENT}, {"POLARIS_LOG_FORMAT=xml"});
  EXPECT_EQ(bad_format.exit_code, 1);
  EXPECT_EQ(bad_format.err, "error: unknown log format 'xml' (expected text or json)\n");
  const auto bad_level = run_program({ERROR_TOOL_AGENT}, {"POLARIS_LOG_LEVEL=loud"});
  EXPECT_EQ(bad_level.exit_code, 1);
  EXPECT_EQ(bad_level.err.rfind("error: unknown log level 'loud'", 0), 0U) << bad_level.err;
}

TEST_F(Examples, HelpNamesTheEnvironment) {
  for (const char* program :
       {MULTI_TOOL_AGENT, ERROR_TOOL_AGENT, AGENT_SCHEMA_AGENT, JSON_SCHEMA}) {
    const auto help = run_program({program, "--help"});
    EXPECT_EQ(help.exit_code, 0) << program;
    for (const char* name : {"POLARIS_SERVERS", "POLARIS_LOG_LEVEL", "POLARIS_LOG_FORMAT"}) {
      EXPECT_NE(help.out.find(name), std::string::npos) << program << ": " << help.out;
    }
  }
}

// examples/agents/run-demo.sh as a user runs it without a model key: a planner agent and two
// worker agents, each `polaris agent serve` in its own process, on the scripted exchanges of
// agents-fake-model; the planner's answer comes back through `polaris call` and `polaris chat`,
// which shows the workers' calls indented under the planner's.
TEST(AgentsDemo, RunsOnScriptedExchanges) {
  // env(1) removes any model key the environment has, so the demo takes the scripted path.
  const auto result =
      run_program({"/usr/bin/env", "-u", "ANTHROPIC_API_KEY", "-u", "OPENAI_API_KEY", "-u",
                   "GOOGLE_API_KEY", "-u", "GEMINI_API_KEY", "-u", "POLARIS_SERVERS", "/bin/bash",
                   AGENTS_DEMO, EXAMPLES_BIN_DIR});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("== no model key: the agents use agents-fake-model"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("answer: The offsite's hotel costs 1440 EUR"), std::string::npos)
      << result.out;
  // polaris call: the workers' events, depth 2, on stderr.
  EXPECT_NE(
      result.err.find(
          R"({"agent":"accountant","arguments":{"a":120,"b":3},"depth":2,"event":"call","name":"multiply"})"),
      std::string::npos)
      << result.err;
  // polaris chat: nested calls indented under the planner's call, then the answer.
  for (const std::string line :
       {"-> planner {", "   [planner] -> accountant {", "   [planner] -> navigator {",
        "      [accountant] -> multiply {\"a\":120,\"b\":3}",
        "      [accountant] <- multiply {\"result\":360.0}",
        "      [navigator] <- divide {\"result\":5.0}", "<- planner {\"answer\":"}) {
    EXPECT_NE(result.err.find("\n" + line), std::string::npos) << line << "\n" << result.err;
  }
  EXPECT_NE(result.out.find("Hotel: 1440 EUR in total; the drive takes about 5 hours.\n"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("== demo finished"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace polaris::test
