// Test support for the MCP tests: the npm peers and free ports.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "process/child_process.hpp"

namespace polaris::test {

/// node_modules/@modelcontextprotocol/<package> inside the installed peers; throws when missing
/// (the tests fail, never skip, without their peers).
std::string mcp_package(const std::string& package);

/// A TCP port that was free a moment ago.
int free_port();

/// The Node.js of the installed peers (Node 22, pinned).
std::string peers_node();

/// The command of the fixture MCP server (tests/mcp/fixture_server.mjs, on the pinned
/// @modelcontextprotocol/sdk): the conformance suite's fixture tools plus test_environment and
/// test_slow. It finds the SDK through its argument, not through the environment.
std::vector<std::string> fixture_server_command();

/// Runs the pinned MCP conformance suite's server side against `url`: the active suite against
/// tests/mcp/conformance-expected-failures.yaml, then each of `scenarios` by name (so that a
/// change of the active suite cannot drop them unnoticed). Failures are GoogleTest failures
/// carrying the tail of the suite's output.
void expect_server_conformance(const std::string& url, const std::vector<std::string>& scenarios);

/// `polaris ARGS...` (the program under test) running as a child process with `extra_env`;
/// stopped on destruction. Its output lines (stdout and stderr) are kept.
class PolarisProcess {
 public:
  explicit PolarisProcess(std::vector<std::string> args, std::vector<std::string> extra_env = {});
  /// The first kept output line containing `text`, waiting up to `timeout` for it; nullopt when
  /// it did not come or the program exited.
  std::optional<std::string> wait_for_line(const std::string& text,
                                           std::chrono::milliseconds timeout);
  [[nodiscard]] detail::ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<detail::ChildProcess> process_;
};

/// `node server-everything/dist/index.js <mode>` with PORT set, ready when the port accepts.
class EverythingHttpServer {
 public:
  explicit EverythingHttpServer(const std::string& mode);
  [[nodiscard]] int port() const { return port_; }

 private:
  int port_;
  std::unique_ptr<detail::ChildProcess> process_;
};

/// The fixture MCP server (fixture_server_command) over Streamable HTTP, ready when its port
/// accepts: url() is its endpoint.
class FixtureHttpServer {
 public:
  FixtureHttpServer();
  [[nodiscard]] std::string url() const;

 private:
  int port_;
  std::unique_ptr<detail::ChildProcess> process_;
};

}  // namespace polaris::test
