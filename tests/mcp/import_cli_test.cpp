// `polaris mcp import --only`: a name the MCP server does not have is an error naming its tools,
// not an import of nothing that keeps running.
#include <gtest/gtest.h>

#include "mcp_support.hpp"
#include "polaris/registry.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"

namespace polaris::test {
namespace {

TEST(McpImportCli, OnlyAToolTheServerLacksIsAnError) {
  Registry registry = Registry::start({.bind = {.port = 0}});
  const std::string server = "node " + mcp_package("server-everything") + "/dist/index.js stdio";
  const auto result =
      run_program({polaris_program(), "mcp", "import", "--stdio", server, "--server",
                   registry.client_url(), "--only", "echo", "--only", "nosuch"});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  // One error line, naming the missing tool and (among them) the tools the server has.
  const std::string prefix = "error: the MCP server has no tool nosuch (its tools: ";
  ASSERT_EQ(result.err.rfind(prefix, 0), 0U) << result.err;
  EXPECT_NE(result.err.find("echo"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("get-sum"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << result.err;
  EXPECT_EQ(result.out, "");
}

}  // namespace
}  // namespace polaris::test
