// Tool names, results, declarations, and the handler runner.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "client/tool_runner.hpp"
#include "client/tool_stats.hpp"
#include "polaris/error.hpp"
#include "polaris/tool.hpp"

namespace polaris {
namespace {

Logger quiet() {
  return std::make_shared<spdlog::logger>("quiet", std::make_shared<spdlog::sinks::null_sink_mt>());
}

TEST(ToolName, AcceptsWhatProvidersAndSubjectsAccept) {
  for (const char* name : {"calculator", "_x", "get-weather", "A1_b-2", "x"}) {
    EXPECT_TRUE(is_valid_tool_name(name)) << name;
  }
  EXPECT_TRUE(is_valid_tool_name(std::string(64, 'a')));
}

TEST(ToolName, RefusesTheRest) {
  for (const char* name : {"", "1abc", "-x", "a b", "a.b", "a*", "a>", "caf\xc3\xa9", "a:b"}) {
    EXPECT_FALSE(is_valid_tool_name(name)) << name;
  }
  EXPECT_FALSE(is_valid_tool_name(std::string(65, 'a')));
}

TEST(Result, BracedObjectAndError) {
  const Result ok = []() -> Result { return {{"result", 3}}; }();
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), Json({{"result", 3}}));
  const Result failed = error("divide by zero");
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.error_message(), "divide by zero");
}

TEST(ToolDeclaration, RoundTripKeepsUnknownFields) {
  const Json wire = {{"name", "t"},
                     {"description", "d"},
                     {"parameters", {{"type", "OBJECT"}}},
                     {"parametersJsonSchema", {{"type", "object"}}}};
  const auto declaration = ToolDeclaration::from_json(wire);
  EXPECT_EQ(declaration.name, "t");
  EXPECT_EQ(declaration.to_json(), wire);
  EXPECT_THROW(ToolDeclaration::from_json(Json{{"description", "no name"}}), Error);
  EXPECT_THROW(ToolDeclaration::from_json(Json{{"name", "t"}, {"parameters", 3}}), Error);
}

TEST(ToolRunner, ErrorsBecomeErrorRepliesAndReachTheErrorHandler) {
  std::vector<std::string> seen;
  Tool tool{.name = "t",
            .handler = [](const Request& request) -> Result {
              if (request.string("mode") == "error") return error("bad mode");
              if (request.string("mode") == "throw") throw std::runtime_error("boom");
              if (request.string("mode") == "scalar") return Json(5);
              return {{"ok", true}};
            },
            .on_error = [&](const std::string& name,
                            const std::string& message) { seen.push_back(name + ": " + message); }};
  const auto log = quiet();
  EXPECT_EQ(detail::run_tool(tool, std::string_view(R"({"mode":"fine"})"), log),
            Json({{"ok", true}}));
  EXPECT_EQ(detail::run_tool(tool, std::string_view(R"({"mode":"error"})"), log),
            Json({{"_error", "bad mode"}}));
  EXPECT_EQ(detail::run_tool(tool, std::string_view(R"({"mode":"throw"})"), log),
            Json({{"_error", "boom"}}));
  EXPECT_EQ(detail::run_tool(tool, std::string_view(R"({"mode":"scalar"})"), log),
            Json({{"_error", "the handler returned a JSON number, not an object"}}));
  EXPECT_EQ(seen,
            (std::vector<std::string>{"t: bad mode", "t: boom",
                                      "t: the handler returned a JSON number, not an object"}));
}

TEST(ToolRunner, BodiesThatAreNotObjectsNeverReachTheHandler) {
  int runs = 0;
  Tool tool{.name = "t", .handler = [&](const Request&) -> Result {
              ++runs;
              return {{"ok", true}};
            }};
  const auto log = quiet();
  EXPECT_EQ(detail::run_tool(tool, std::string_view("{not json"), log),
            Json({{"_error", "invalid request: the body is not valid JSON"}}));
  EXPECT_EQ(detail::run_tool(tool, std::string_view("[1,2]"), log),
            Json({{"_error", "invalid request: the arguments must be a JSON object, not array"}}));
  EXPECT_EQ(detail::run_tool(tool, std::string_view(""), log),
            Json({{"_error", "invalid request: the body is not valid JSON"}}));
  EXPECT_EQ(runs, 0);
}

TEST(ToolRunner, RefusedRequestsCountAsFailedRequestsInTheToolsStatistics) {
  Tool tool{.name = "t",
            .parameters = Object{.properties = {{"n", Float{.required = true}}}},
            .handler = [](const Request&) -> Result {
              return {{"ok", true}};
            }};
  const auto stats = detail::instrument(tool);
  const auto log = quiet();
  (void)detail::run_tool(tool, std::string_view("{not json"), log, nullptr, stats.get());
  (void)detail::run_tool(tool, std::string_view("[1]"), log, nullptr, stats.get());
  (void)detail::run_tool(tool, std::string_view(R"({"n":"two"})"), log, nullptr, stats.get());
  (void)detail::run_tool(tool, std::string_view(R"({"n":2})"), log, nullptr, stats.get());
  const auto counted = stats->snapshot();
  EXPECT_EQ(counted.requests, 4U);
  EXPECT_EQ(counted.errors, 3U);
  EXPECT_EQ(counted.completed, 1U);  // only the handler's run has a latency
  EXPECT_EQ(counted.busy, 0U);
  EXPECT_NE(counted.last_error.find("invalid arguments"), std::string::npos) << counted.last_error;
}

}  // namespace
}  // namespace polaris
