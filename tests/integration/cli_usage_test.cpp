// The polaris program's command line: help, version, unknown commands, usage errors that point
// to the right help, and flags that take one value each.
#include <gtest/gtest.h>

#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"

namespace polaris {
namespace {

test::ProgramResult polaris_cli(std::vector<std::string> args) {
  args.insert(args.begin(), test::polaris_program());
  return test::run_program(args);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

constexpr const char* kCommands =
    "(commands: registry, tools, call, version, chat, agent, mcp, status, stats, console, "
    "passwd, completion, man, help)";

TEST(CliUsage, HelpCommand) {
  const auto help = polaris_cli({"help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_TRUE(contains(help.out, "registry")) << help.out;
  EXPECT_EQ(help.out, polaris_cli({"--help"}).out);

  const auto registry = polaris_cli({"help", "registry"});
  EXPECT_EQ(registry.exit_code, 0) << registry.err;
  EXPECT_TRUE(contains(registry.out, "--cluster-advertise")) << registry.out;
  EXPECT_EQ(registry.out, polaris_cli({"registry", "--help"}).out);

  const auto import = polaris_cli({"help", "mcp", "import"});
  EXPECT_EQ(import.exit_code, 0) << import.err;
  EXPECT_TRUE(contains(import.out, "--only")) << import.out;

  const auto unknown = polaris_cli({"help", "nosuch"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, std::string("error: unknown command 'nosuch' ") + kCommands +
                             " (see polaris --help)\n");
}

TEST(CliUsage, VersionFlag) {
  const auto flag = polaris_cli({"--version"});
  EXPECT_EQ(flag.exit_code, 0) << flag.err;
  EXPECT_EQ(flag.out, polaris_cli({"version"}).out);
  EXPECT_EQ(flag.out.rfind("polaris ", 0), 0U) << flag.out;
}

TEST(CliUsage, UnknownOrMissingCommandListsTheCommands) {
  const auto unknown = polaris_cli({"nosuch"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.out, "");
  EXPECT_EQ(unknown.err, std::string("error: unknown command 'nosuch' ") + kCommands +
                             " (see polaris --help)\n");
  const auto none = polaris_cli({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err,
            std::string("error: a command is required ") + kCommands + " (see polaris --help)\n");
}

TEST(CliUsage, FlagErrorsPointToTheCommandsHelp) {
  const auto port = polaris_cli({"registry", "--port", "70000"});
  EXPECT_EQ(port.exit_code, 2);
  EXPECT_EQ(port.err,
            "error: --port: Value 70000 not in range 0 to 65535 (see polaris registry --help)\n");
  const auto unknown = polaris_cli({"mcp", "import", "--bogus"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(contains(unknown.err, "(see polaris mcp import --help)\n")) << unknown.err;
  // (tools takes one NAME: a second word is extra)
  const auto extra = polaris_cli({"tools", "echo", "--server", "nats://127.0.0.1:1", "extra"});
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_EQ(extra.err, "error: unexpected argument 'extra' (see polaris tools --help)\n");
}

TEST(CliUsage, MaxPayloadRange) {
  for (const std::string value : {"0", "-1", "1e3", "67108865"}) {
    const auto result = polaris_cli({"registry", "--max-payload", value});
    EXPECT_EQ(result.exit_code, 2) << value;
    EXPECT_EQ(result.err, "error: --max-payload: '" + value +
                              "' is not a size in bytes from 1 to 67108864 (64 MiB) (see polaris "
                              "registry --help)\n");
  }
}

// A repeatable flag takes one value per use: the word after it is not a second value.
TEST(CliUsage, RepeatableFlagsTakeOneValue) {
  const std::string nowhere = "nats://127.0.0.1:1";
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"tools", "echo", "--server", nowhere},
           {"status", "--server", nowhere},
           {"registry", "--cluster-name", "c", "--route", "nats://127.0.0.1:6222"},
           {"registry", "--nats-url", nowhere},
           {"mcp", "import", "--stdio", "true", "--server", nowhere, "--only", "a"},
           {"mcp", "import", "--stdio", "true", "--server", nowhere, "--env", "A=1"},
           {"mcp", "import", "--url", "http://127.0.0.1:1/mcp", "--server", nowhere, "--header",
            "A: b"},
           {"mcp", "serve", "--server", nowhere, "--allow", "a"},
           {"mcp", "serve", "--server", nowhere, "--allowed-host", "h"},
           {"mcp", "serve", "--server", nowhere, "--allowed-origin", "o"},
       }) {
    std::vector<std::string> argv = args;
    argv.emplace_back("extra");
    const auto result = polaris_cli(argv);
    std::string command = "polaris " + args[0];
    if (args[0] == "mcp") command += " " + args[1];
    EXPECT_EQ(result.exit_code, 2) << args.back() << ": " << result.err;
    EXPECT_EQ(result.err, "error: unexpected argument 'extra' (see " + command + " --help)\n")
        << args.back();
  }
}

}  // namespace
}  // namespace polaris
