// `polaris registry` start-up failures as a user meets them: each is one `error:` line and a
// non-zero exit, and leaves nothing behind (no temporary directory, no nats-server).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "process/child_process.hpp"
#include "support/process_fixtures.hpp"
#include "support/run_program.hpp"

namespace polaris {
namespace {

// A TCP port on 127.0.0.1 that something listens on for the life of the object.
class TakenPort {
 public:
  TakenPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    auto* any = reinterpret_cast<sockaddr*>(&address);  // NOLINT: the sockets API
    if (fd_ < 0 || ::bind(fd_, any, size) != 0 || ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, any, &size) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
  }
  ~TakenPort() { ::close(fd_); }
  TakenPort(const TakenPort&) = delete;
  TakenPort& operator=(const TakenPort&) = delete;
  [[nodiscard]] std::string port() const { return std::to_string(port_); }

 private:
  int fd_;
  int port_ = 0;
};

// Processes whose command line mentions `text` (a nats-server started with a config file in a
// temporary directory names that directory).
std::vector<std::string> processes_mentioning(const std::string& text) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream file(entry.path() / "cmdline");
    std::stringstream content;
    content << file.rdbuf();
    std::string line = content.str();
    std::replace(line.begin(), line.end(), '\0', ' ');
    if (line.find(text) != std::string::npos) found.push_back(entry.path().filename().string());
  }
  return found;
}

struct Startup {
  test::ProgramResult result;
  std::vector<std::string> error_lines;  // stderr lines that start with "error:"
  std::vector<std::string> leftovers;    // what is left in its TMPDIR
  std::vector<std::string> processes;    // processes still using its TMPDIR
};

// Runs `polaris registry ARGS` (--port 0 unless ARGS give one) with a TMPDIR of its own and looks
// at what remains.
Startup start_registry(const std::vector<std::string>& args) {
  detail::TempDir tmp("polaris-startup-test-");
  std::vector<std::string> argv = {test::polaris_program(), "registry"};
  if (std::find(args.begin(), args.end(), "--port") == args.end()) {
    argv.insert(argv.end(), {"--port", "0"});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  Startup startup;
  startup.result = test::run_program(argv, {"TMPDIR=" + tmp.path()});
  std::istringstream err(startup.result.err);
  for (std::string line; std::getline(err, line);) {
    if (line.rfind("error:", 0) == 0) startup.error_lines.push_back(line);
  }
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
    startup.leftovers.push_back(entry.path().filename().string());
  }
  startup.processes = processes_mentioning(tmp.path());
  return startup;
}

void expect_clean_failure(const Startup& startup, int exit_code, const std::string& message) {
  EXPECT_EQ(startup.result.exit_code, exit_code) << startup.result.err;
  ASSERT_EQ(startup.error_lines.size(), 1U) << startup.result.err;
  EXPECT_NE(startup.error_lines[0].find(message), std::string::npos) << startup.error_lines[0];
  EXPECT_EQ(startup.leftovers, std::vector<std::string>{}) << startup.result.err;
  EXPECT_EQ(startup.processes, std::vector<std::string>{}) << startup.result.err;
}

TEST(RegistryStartup, MetricsPortInUse) {
  const TakenPort taken;
  const auto startup = start_registry({"--metrics", "127.0.0.1:" + taken.port()});
  // The address given cannot be used: a usage error, as a malformed one is.
  expect_clean_failure(startup, 2, "error: metrics: cannot listen on 127.0.0.1:" + taken.port());
}

TEST(RegistryStartup, ClientPortInUse) {
  const TakenPort taken;
  const auto startup = start_registry({"--port", taken.port()});
  expect_clean_failure(startup, 1, "nats-server failed to start");
  EXPECT_NE(startup.error_lines.at(0).find("address already in use"), std::string::npos)
      << startup.error_lines.at(0);
}

TEST(RegistryStartup, ClusterPortInUse) {
  const TakenPort taken;
  const auto startup = start_registry({"--cluster-name", "c", "--cluster-port", taken.port()});
  expect_clean_failure(startup, 1, "nats-server failed to start");
  EXPECT_NE(startup.error_lines.at(0).find("address already in use"), std::string::npos)
      << startup.error_lines.at(0);
}

TEST(RegistryStartup, BadConfig) {
  detail::TempDir dir("polaris-startup-config-");
  const std::string path = dir.path() + "/security.yaml";
  std::ofstream(path) << "users: [\n";
  expect_clean_failure(start_registry({"--config", path}), 2, path);
  expect_clean_failure(start_registry({"--config", dir.path() + "/missing.yaml"}), 2,
                       "missing.yaml");
}

TEST(RegistryStartup, NatsServerMissing) {
  expect_clean_failure(start_registry({"--nats-server", "/nonexistent/nats-server"}), 1,
                       "/nonexistent/nats-server");
}

TEST(RegistryStartup, NatsServerFailing) {
  // A "nats-server" that says why it fails, then exits 1.
  detail::TempDir dir("polaris-startup-fake-");
  const std::string fake = dir.path() + "/nats-server";
  std::ofstream(fake)
      << "#!/bin/sh\necho '[1] 2026/01/01 00:00:00.000000 [FTL] it broke'\nexit 1\n";
  std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
  const auto startup = start_registry({"--nats-server", fake});
  expect_clean_failure(startup, 1, "nats-server failed to start");
  EXPECT_EQ(startup.error_lines.at(0),
            "error: nats-server failed to start (" + fake + " exited with status 1): it broke");
}

// Cluster flags nats-server would ignore or choke on later are refused before it starts.
TEST(RegistryStartup, ClusterFlagsWithoutAClusterName) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--cluster-port", "0"},
                                             {"--cluster-port", "6222"},
                                             {"--cluster-advertise", "127.0.0.1:6222"},
                                             {"--route", "nats://127.0.0.1:6222"}}) {
    const auto startup = start_registry(args);
    expect_clean_failure(startup, 2, "error: " + args[0] + ": needs --cluster-name (or --node)");
  }
}

TEST(RegistryStartup, RouteThatIsNoUrl) {
  for (const std::string route :
       {"foo", "nats://127.0.0.1", "http://127.0.0.1:6222", "nats://127.0.0.1:99999"}) {
    const auto startup = start_registry({"--cluster-name", "c", "--route", route});
    expect_clean_failure(startup, 2,
                         "error: route '" + route + "' is not a URL like nats://HOST:PORT");
  }
}

}  // namespace
}  // namespace polaris
