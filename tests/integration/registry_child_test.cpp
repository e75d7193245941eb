// What the registry's nats-server child exposes: its environment (no secrets of the registry's
// configuration), its listening ports (no monitoring endpoint unless asked for), and the
// system account that replaces the monitoring endpoint for `polaris status`.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "polaris/polaris.hpp"
#include "process/child_process.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

using test::RegistryProcess;

// The NAME=value entries of a process's environment.
std::vector<std::string> environment_of(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::vector<std::string> entries;
  for (std::string entry; std::getline(file, entry, '\0');) entries.push_back(entry);
  return entries;
}

// The TCP ports process `pid` listens on (from its socket descriptors and /proc/<pid>/net/tcp*).
std::set<int> listening_ports(int pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::set<std::string> inodes;
  std::error_code error;
  for (const auto& fd : std::filesystem::directory_iterator(proc + "/fd", error)) {
    const auto target = std::filesystem::read_symlink(fd.path(), error).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<int> ports;
  for (const char* table : {"/net/tcp", "/net/tcp6"}) {
    std::ifstream file(proc + table);
    std::string line;
    std::getline(file, line);  // the header
    while (std::getline(file, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (state != "0A" || inodes.count(inode) == 0) continue;  // 0A: LISTEN
      ports.insert(std::stoi(local.substr(local.rfind(':') + 1), nullptr, 16));
    }
  }
  return ports;
}

int nats_server_pid(const RegistryProcess& registry) {
  const auto children = registry.child_pids();
  if (children.size() != 1) throw Error(Errc::process, "the registry has no single child");
  return children.front();
}

class RegistryChild : public ::testing::Test {
 protected:
  // A security configuration whose users' plain passwords come from the environment, as
  // `password_env` reads them.
  std::string write_config() const {
    const std::string path = dir_.path() + "/security.yaml";
    std::ofstream(path) << "auth:\n"
                           "  users:\n"
                           "    - name: worker\n"
                           "      password_env: POLARIS_TEST_WORKER_PASSWORD\n"
                           "      role: agent\n"
                           "      tools: [calculator]\n"
                           "    - name: ops\n"
                           "      password_env: POLARIS_TEST_OPS_PASSWORD\n"
                           "      role: admin\n";
    return path;
  }
  detail::TempDir dir_{"polaris-child-test-"};
};

TEST_F(RegistryChild, TheNatsServerChildGetsNoPasswordVariable) {
  // The registry inherits these from the test, as it would from its service manager.
  ::setenv("POLARIS_TEST_WORKER_PASSWORD", "worker-secret-3141",
           1);                                                  // NOLINT(concurrency-mt-unsafe)
  ::setenv("POLARIS_TEST_OPS_PASSWORD", "ops-secret-2718", 1);  // NOLINT(concurrency-mt-unsafe)
  ::setenv("POLARIS_PASSWORD", "client-secret-1618", 1);        // NOLINT(concurrency-mt-unsafe)
  RegistryProcess registry({"--config", write_config()});
  const auto registry_env = environment_of(registry.pid());
  ASSERT_NE(std::find(registry_env.begin(), registry_env.end(),
                      "POLARIS_TEST_WORKER_PASSWORD=worker-secret-3141"),
            registry_env.end())
      << "the test must give the registry the variable";
  const auto env = environment_of(nats_server_pid(registry));
  for (const auto& entry : env) {
    EXPECT_EQ(entry.find("secret"), std::string::npos) << entry;
    EXPECT_EQ(entry.find("PASSWORD"), std::string::npos) << entry;
  }
  // What it keeps: PATH (and a few Go runtime settings when set).
  for (const auto& entry : env) {
    const std::string name = entry.substr(0, entry.find('='));
    EXPECT_TRUE(
        (std::set<std::string>{"PATH", "TZ", "GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG"}.count(
             name) == 1))
        << entry;
  }
  ::unsetenv("POLARIS_TEST_WORKER_PASSWORD");  // NOLINT(concurrency-mt-unsafe)
  ::unsetenv("POLARIS_TEST_OPS_PASSWORD");     // NOLINT(concurrency-mt-unsafe)
  ::unsetenv("POLARIS_PASSWORD");              // NOLINT(concurrency-mt-unsafe)
}

TEST_F(RegistryChild, NoMonitoringPortUnlessAskedFor) {
  RegistryProcess registry;
  EXPECT_TRUE(registry.monitoring_url().empty());
  EXPECT_EQ(listening_ports(nats_server_pid(registry)),
            std::set<int>{test::port_of(registry.client_url())});

  RegistryProcess monitored({"--monitor", "127.0.0.1:0"});
  ASSERT_FALSE(monitored.monitoring_url().empty());
  const int monitor_port = test::port_of(monitored.monitoring_url());
  EXPECT_EQ(listening_ports(nats_server_pid(monitored)),
            (std::set<int>{test::port_of(monitored.client_url()), monitor_port}));
  EXPECT_TRUE(test::port_accepts(monitor_port));
}

TEST_F(RegistryChild, WithoutAuthenticationClientsStillNeedNoCredentials) {
  // The system account makes nats-server demand credentials; the registry lets clients without
  // any in as before.
  RegistryProcess registry;
  auto agent = connect({.servers = {registry.client_url()}});
  agent.register_tool(
      {.name = "echo", .handler = [](const Request& r) { return Result(r.json()); }});
  test::RawNats raw(registry.client_url());
  EXPECT_EQ(Json::parse(raw.request("polaris:user-func:echo", R"({"a":1})"))["a"], 1);
}

TEST_F(RegistryChild, StatusReportsTheNodeThroughTheSystemAccount) {
  RegistryProcess registry({"--server-name", "solo"});
  const auto result =
      test::run_polaris({"status", "--json", "--wait", "1s", "--server", registry.client_url()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Json report = Json::parse(result.out);
  ASSERT_EQ(report.at("nodes").size(), 1U) << result.out;
  const Json& node = report["nodes"][0];
  EXPECT_TRUE(node.at("monitoring").get<bool>()) << result.out;
  EXPECT_FALSE(node.at("server_id").get<std::string>().empty()) << result.out;
  EXPECT_FALSE(node.at("nats_server_version").get<std::string>().empty()) << result.out;
}

TEST_F(RegistryChild, WithTokenAuthStatusSaysWhyItHasNoPeers) {
  const std::string path = dir_.path() + "/token.yaml";
  std::ofstream(path) << "auth:\n  token_env: POLARIS_TEST_TOKEN\n";
  ::setenv("POLARIS_TEST_TOKEN", "token-secret-1234", 1);  // NOLINT(concurrency-mt-unsafe)
  RegistryProcess registry({"--config", path});
  for (const auto& entry : environment_of(nats_server_pid(registry))) {
    EXPECT_EQ(entry.find("secret"), std::string::npos) << entry;
  }
  const auto result = test::run_program({test::polaris_program(), "status", "--json", "--wait",
                                         "1s", "--server", registry.client_url()},
                                        {"POLARIS_TOKEN=token-secret-1234"});
  ::unsetenv("POLARIS_TEST_TOKEN");  // NOLINT(concurrency-mt-unsafe)
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Json node = Json::parse(result.out).at("nodes").at(0);
  EXPECT_FALSE(node.at("monitoring").get<bool>());
  EXPECT_NE(node.value("monitoring_problem", "").find("token"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace polaris
