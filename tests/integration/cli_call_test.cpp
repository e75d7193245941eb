// `polaris call`: arguments from the command line, standard input, a file or KEY=VALUE pairs;
// where a JSON syntax error is; the tool's progress and log messages; its declared timeout.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "polaris/polaris.hpp"
#include "process/child_process.hpp"  // TempDir
#include "support/calculator.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"

namespace polaris {
namespace {

using test::run_program;

class CliCallTest : public ::testing::Test {
 protected:
  test::ProgramResult call(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), {test::polaris_program(), "call"});
    args.insert(args.end(), {"--server", registry_.client_url()});
    return run_program(args, {}, input);
  }

  Registry registry_ = Registry::start({.bind = {.port = 0}});
  Connection agent_ = [this] {
    auto agent = connect({.servers = {registry_.client_url()}});
    agent.register_tool(test::calculator());
    agent.register_tool(
        {.name = "echo", .handler = [](const Request& r) { return Result(r.json()); }});
    agent.register_tool({.name = "chatty", .handler = [](const Request& r) {
                           r.progress(0.5, 1.0, "halfway");
                           r.log("info", "step one", "worker");
                           return Result({{"done", true}});
                         }});
    // Declares 300 ms: the caller's default (5 s) does not apply.
    agent.register_tool({.name = "slow",
                         .handler =
                             [](const Request& r) {
                               while (!r.cancelled()) {
                                 std::this_thread::sleep_for(std::chrono::milliseconds(10));
                               }
                               return Result({{"late", true}});
                             },
                         .timeout = std::chrono::milliseconds(300)});
    return agent;
  }();
};

TEST_F(CliCallTest, KeyValuePairsTypedByTheSchema) {
  const auto added = call({"calculator", "operation=add", "a=1", "b=2.5"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(added.out, "{\"result\":3.5}\n");

  const auto not_a_number = call({"calculator", "operation=add", "a=one", "b=2"});
  EXPECT_EQ(not_a_number.exit_code, 2);
  EXPECT_EQ(not_a_number.err, "error: a=one: a is a number\n");

  const auto unknown = call({"calculator", "operation=add", "c=1"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "error: calculator has no parameter c (parameters: a, b, operation)\n");

  const auto no_pair = call({"calculator", "operation=add", "oops"});
  EXPECT_EQ(no_pair.exit_code, 2);
  EXPECT_EQ(no_pair.err.rfind("error: 'oops' is not KEY=VALUE", 0), 0U) << no_pair.err;

  // Without a schema: JSON when it parses, else a string.
  const auto echoed = call({"echo", "n=1", "s=hello", "list=[1,2]"});
  ASSERT_EQ(echoed.exit_code, 0) << echoed.err;
  EXPECT_EQ(Json::parse(echoed.out), Json({{"n", 1}, {"s", "hello"}, {"list", {1, 2}}}));

  const auto missing = call({"nosuch", "a=1"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "error: no such tool: nosuch\n");
}

TEST_F(CliCallTest, ArgumentsFromStandardInputAndAFile) {
  const auto from_stdin = call({"calculator", "-"}, R"({"operation":"add","a":1,"b":2})");
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(from_stdin.out, "{\"result\":3.0}\n");

  detail::TempDir dir("polaris-call-");
  const std::string path = dir.path() + "/args.json";
  std::ofstream(path) << "{\n  \"operation\": \"multiply\",\n  \"a\": 2,\n  \"b\": 4\n}\n";
  const auto from_file = call({"calculator", "@" + path});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(from_file.out, "{\"result\":8.0}\n");

  const auto unreadable = call({"calculator", "@" + dir.path() + "/none.json"});
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_EQ(unreadable.err, "error: cannot read " + dir.path() + "/none.json\n");
}

TEST_F(CliCallTest, SyntaxErrorsSayWhere) {
  const auto inline_error = call({"echo", "{\"a\": 1,\n \"b\": }"});
  EXPECT_EQ(inline_error.exit_code, 2);
  EXPECT_EQ(inline_error.err.rfind("error: invalid JSON in the arguments: parse error at line 2, "
                                   "column 7:",
                                   0),
            0U)
      << inline_error.err;

  const auto stdin_error = call({"echo", "-"}, "{\"a\" 1}");
  EXPECT_EQ(stdin_error.exit_code, 2);
  EXPECT_EQ(stdin_error.err.rfind("error: invalid JSON in standard input: parse error at line 1, "
                                  "column 6:",
                                  0),
            0U)
      << stdin_error.err;

  const auto not_object = call({"echo", "[1]"});
  EXPECT_EQ(not_object.exit_code, 2);
  EXPECT_EQ(not_object.err, "error: the arguments must be a JSON object, e.g. '{\"a\": 1}'\n");
}

TEST_F(CliCallTest, ProgressAndLogMessagesOnStderr) {
  const auto result = call({"chatty"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "{\"done\":true}\n");
  EXPECT_NE(result.err.find("progress 0.5/1.0 halfway\n"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("log info worker: step one\n"), std::string::npos) << result.err;

  const auto quiet = call({"chatty", "--quiet"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
}

TEST_F(CliCallTest, TheToolsDeclaredTimeout) {
  const auto start = std::chrono::steady_clock::now();
  const auto result = call({"slow"});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.exit_code, 1) << result.out;
  EXPECT_EQ(result.err, "error: call slow: no reply within 300 ms\n");
  EXPECT_LT(took, std::chrono::seconds(4));  // not the 5 s default
}

}  // namespace
}  // namespace polaris
