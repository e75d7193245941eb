// Test support for the MCP tests: the npm peers and free ports.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "process/child_process.hpp"

namespace polaris::test {

/// node_modules/@modelcontextprotocol/<package> inside the installed peers; throws when missing
/// (the tests fail, never skip, without their peers).
std::string mcp_package(const std::string& package);

/// A TCP port that was free a moment ago.
int free_port();

/// `node server-everything/dist/index.js <mode>` with PORT set, ready when the port accepts.
class EverythingHttpServer {
 public:
  explicit EverythingHttpServer(const std::string& mode);
  [[nodiscard]] int port() const { return port_; }

 private:
  int port_;
  std::unique_ptr<detail::ChildProcess> process_;
};

}  // namespace polaris::test
