// The polaris program's output: one tool in full, -o table|json|wide, terminal widths, colour,
// pretty JSON on a terminal, no clear-screen escapes in a pipe, stats --watch.
#include <gtest/gtest.h>

#include <sstream>

#include "polaris/polaris.hpp"
#include "support/calculator.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"

namespace polaris {
namespace {

using test::run_program;

test::ProgramResult polaris_cli(std::vector<std::string> args,
                                const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), test::polaris_program());
  return run_program(args, env);
}

// The program run on a pseudo-terminal (util-linux `script`), as a person at a terminal runs it:
// its stdout and stderr arrive together, with "\r\n" line ends.
test::ProgramResult polaris_on_terminal(const std::vector<std::string>& args,
                                        const std::vector<std::string>& env = {}) {
  std::string command = test::polaris_program();
  for (const auto& arg : args) command += " '" + arg + "'";
  return run_program({"/usr/bin/script", "-qec", command, "/dev/null"}, env);
}

std::size_t widest_line(const std::string& text) {
  std::istringstream lines(text);
  std::size_t widest = 0;
  for (std::string line; std::getline(lines, line);) {
    std::size_t columns = 0;
    for (const char c : line) columns += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
    widest = std::max(widest, columns);
  }
  return widest;
}

class CliOutputTest : public ::testing::Test {
 protected:
  Registry registry_ = Registry::start({.bind = {.port = 0}});
  Connection agent_ = [this] {
    auto agent = connect({.servers = {registry_.client_url()}});
    agent.register_tool(test::calculator());
    agent.register_tool(
        {.name = "echo",
         .description = "echoes whatever it is given back to the caller, unchanged, as JSON",
         .handler = [](const Request& r) { return Result(r.json()); }});
    return agent;
  }();
  std::string server_ = registry_.client_url();
};

TEST_F(CliOutputTest, OneToolInFull) {
  const auto shown = polaris_cli({"tools", "calculator", "--server", server_});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("Name:         calculator\n"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("Description:  simple calculator\n"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("Replicas:     1\n"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("Agents:       " + agent_.agent_id() + "\n"), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("  PARAMETER  TYPE    REQUIRED  DEFAULT  ENUM"), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("  operation  STRING  yes       -        add|subtract|multiply|divide  "
                           "operation to perform\n"),
            std::string::npos)
      << shown.out;

  const auto json = polaris_cli({"tools", "calculator", "-o", "json", "--server", server_});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const Json declaration = Json::parse(json.out);
  EXPECT_EQ(declaration.at("name"), "calculator");
  EXPECT_EQ(declaration.at("agents"), Json::array({agent_.agent_id()}));
  EXPECT_TRUE(declaration.at("parameters").contains("properties"));

  const auto missing = polaris_cli({"tools", "nosuch", "--server", server_});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "error: no such tool: nosuch (tools: calculator, echo)\n");
}

TEST_F(CliOutputTest, TableFitsTheWidthAndWideShowsAll) {
  const auto narrow = polaris_cli({"tools", "--server", server_}, {"COLUMNS=60"});
  ASSERT_EQ(narrow.exit_code, 0) << narrow.err;
  EXPECT_LE(widest_line(narrow.out), 60U) << narrow.out;
  EXPECT_NE(narrow.out.find("…"), std::string::npos) << narrow.out;

  const auto wide = polaris_cli({"tools", "-o", "wide", "--server", server_}, {"COLUMNS=60"});
  ASSERT_EQ(wide.exit_code, 0) << wide.err;
  EXPECT_EQ(wide.out.find("…"), std::string::npos) << wide.out;
  EXPECT_NE(wide.out.find("echoes whatever it is given back to the caller, unchanged, as JSON"),
            std::string::npos)
      << wide.out;
  EXPECT_NE(wide.out.find("REPLICAS"), std::string::npos) << wide.out;

  // -o json and its alias --json; anything else is a usage error.
  const auto as_json = polaris_cli({"tools", "-o", "json", "--server", server_});
  const auto alias = polaris_cli({"tools", "--json", "--server", server_});
  EXPECT_EQ(as_json.out, alias.out);
  EXPECT_EQ(as_json.out.find('\n'), as_json.out.size() - 1);  // one line in a pipe
  EXPECT_EQ(polaris_cli({"tools", "-o", "yaml", "--server", server_}).exit_code, 2);
  for (const char* command : {"status", "stats"}) {
    const auto listed = polaris_cli({command, "-o", "json", "--server", server_});
    EXPECT_EQ(listed.exit_code, 0) << command << ": " << listed.err;
    EXPECT_FALSE(Json::parse(listed.out, nullptr, false).is_discarded()) << listed.out;
  }
}

TEST_F(CliOutputTest, TerminalGetsPrettyJsonAndColourUnlessNoColor) {
  const auto pretty = polaris_on_terminal({"tools", "--json", "--server", server_});
  ASSERT_EQ(pretty.exit_code, 0) << pretty.out;
  EXPECT_NE(pretty.out.find("\r\n  {\r\n"), std::string::npos) << pretty.out;

  const auto coloured = polaris_on_terminal({"status", "--server", server_});
  ASSERT_EQ(coloured.exit_code, 0) << coloured.out;
  EXPECT_NE(coloured.out.find("\033[32mup\033[0m"), std::string::npos) << coloured.out;

  const auto plain = polaris_on_terminal({"status", "--server", server_}, {"NO_COLOR=1"});
  ASSERT_EQ(plain.exit_code, 0) << plain.out;
  EXPECT_EQ(plain.out.find('\033'), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find(" up "), std::string::npos) << plain.out;
}

TEST_F(CliOutputTest, WatchInAPipeWritesNoEscapes) {
  const auto piped =
      polaris_cli({"status", "--watch", "100ms", "--count", "2", "--server", server_});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out.find('\033'), std::string::npos) << piped.out;
  EXPECT_EQ(piped.out.find("NODE"), 0U) << piped.out;
  EXPECT_NE(piped.out.find("NODE", 1), std::string::npos) << piped.out;  // two tables

  // On a terminal the screen is cleared between rounds.
  const auto on_terminal = polaris_on_terminal(
      {"status", "--watch", "100ms", "--count", "2", "--server", server_}, {"NO_COLOR=1"});
  EXPECT_NE(on_terminal.out.find("\033[H\033[2J"), std::string::npos) << on_terminal.out;
}

TEST_F(CliOutputTest, StatsWatch) {
  agent_.call("echo", Json{{"x", 1}});
  const auto watched =
      polaris_cli({"stats", "--watch", "100ms", "--count", "2", "-o", "json", "--server", server_});
  ASSERT_EQ(watched.exit_code, 0) << watched.err;
  std::istringstream lines(watched.out);
  int rounds = 0;
  for (std::string line; std::getline(lines, line); ++rounds) {
    const Json rows = Json::parse(line);
    ASSERT_EQ(rows.size(), 2U) << line;
    EXPECT_EQ(rows[1].at("tool"), "echo");
    EXPECT_EQ(rows[1].at("calls"), 1);
  }
  EXPECT_EQ(rounds, 2);

  const auto table =
      polaris_cli({"stats", "--watch", "100ms", "--count", "2", "--server", server_});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.find('\033'), std::string::npos);
  EXPECT_NE(table.out.find("TOOL", 1), std::string::npos) << table.out;
}

// `polaris completion bash`, sourced into a real bash: commands, flags, and the tool names of
// the live catalogue (through POLARIS_SERVERS or the --server on the line).
TEST_F(CliOutputTest, BashCompletionFromTheLiveCatalogue) {
  const std::string program = test::polaris_program();
  const std::string bin = program.substr(0, program.rfind('/'));
  auto complete = [&](const std::string& words, int current) {
    const std::string script = "source <(polaris completion bash); COMP_WORDS=(" + words +
                               "); COMP_CWORD=" + std::to_string(current) +
                               "; _polaris; printf '%s\\n' \"${COMPREPLY[@]}\"";
    const auto result = run_program({"/bin/bash", "-c", script}, {"PATH=" + bin + ":/usr/bin:/bin",
                                                                  "POLARIS_SERVERS=" + server_});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.out;
  };
  EXPECT_EQ(complete("polaris st", 1), "status\nstats\n");
  EXPECT_EQ(complete("polaris call ''", 2), "calculator\necho\n");
  EXPECT_EQ(complete("polaris tools --server " + server_ + " ca", 4), "calculator\n");
  EXPECT_EQ(complete("polaris status --wa", 2), "--wait\n--watch\n");
  EXPECT_EQ(complete("polaris tools -o ''", 3), "table\nwide\njson\nname\n");
  EXPECT_EQ(complete("polaris completion ''", 2), "bash\nzsh\nfish\n");

  const auto names = polaris_cli({"tools", "-o", "name", "--server", server_});
  EXPECT_EQ(names.out, "calculator\necho\n");
  for (const char* shell : {"zsh", "fish"}) {
    const auto script = polaris_cli({"completion", shell});
    EXPECT_EQ(script.exit_code, 0);
    EXPECT_NE(script.out.find("polaris tools -o name"), std::string::npos) << shell;
  }
  EXPECT_EQ(polaris_cli({"completion", "tcsh"}).exit_code, 2);
}

// `polaris man`: a manual page groff reads without a warning, listing every command.
TEST(CliManPage, EveryCommandWithoutGroffWarnings) {
  const auto page = polaris_cli({"man"});
  ASSERT_EQ(page.exit_code, 0) << page.err;
  for (const char* command : {"registry", "tools", "call", "chat", "mcp import", "mcp serve",
                              "status", "stats", "console", "completion"}) {
    EXPECT_NE(page.out.find(".SS \"polaris " + std::string(command) + "\""), std::string::npos)
        << command;
  }
  const auto checked = run_program({"/usr/bin/groff", "-man", "-Tutf8", "-ww", "-z"}, {}, page.out);
  EXPECT_EQ(checked.exit_code, 0);
  EXPECT_EQ(checked.err, "");
}

}  // namespace
}  // namespace polaris
