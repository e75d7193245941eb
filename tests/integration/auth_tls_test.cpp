// Connection options that reach nats-server: token, user/password, TLS with a client certificate.
// The servers are real nats-server processes with their own configuration (the registry's
// auth/TLS configuration is the security issue's work).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "polaris/polaris.hpp"
#include "process/child_process.hpp"
#include "support/certificates.hpp"
#include "support/wait.hpp"

namespace polaris {
namespace {

// nats-server with `config` (plus a random port and a ports file), ready when started.
class ConfiguredNatsServer {
 public:
  explicit ConfiguredNatsServer(const std::string& config) : dir_("polaris-auth-test-") {
    const std::string path = dir_.path() + "/nats.conf";
    std::ofstream(path) << "port: -1\nports_file_dir: \"" << dir_.path() << "\"\n" << config;
    process_ = std::make_unique<detail::ChildProcess>(
        detail::ChildProcessOptions{.argv = {"nats-server", "-c", path}});
    // nats-server writes the ports file in place: it is ready once it parses whole.
    Json ports;
    const bool ready = test::wait_until([&] {
      ports = read_ports();
      return ports.is_object() || !process_->running();
    });
    if (!ready || !ports.is_object()) {
      throw Error(Errc::process, "nats-server did not start: " + process_->describe_exit());
    }
    port_ = test::port_of(ports["nats"][0].get<std::string>());
  }
  [[nodiscard]] std::string url(const std::string& scheme = "nats") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_);
  }
  [[nodiscard]] const std::string& dir() const { return dir_.path(); }

 private:
  Json read_ports() const {
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
      if (entry.path().extension() != ".ports") continue;
      std::ifstream file(entry.path());
      std::stringstream text;
      text << file.rdbuf();
      Json ports = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
      if (ports.is_object() && ports.contains("nats") && ports["nats"].is_array() &&
          !ports["nats"].empty() && ports["nats"][0].is_string()) {
        return ports;
      }
    }
    return nullptr;
  }
  detail::TempDir dir_;
  std::unique_ptr<detail::ChildProcess> process_;
  int port_ = 0;
};

std::string connect_error(ConnectOptions options) {
  options.reconnect = false;
  try {
    connect(options);
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::connection_failed);
    return error.what();
  }
  return "(connected)";
}

TEST(AuthTls, Token) {
  ConfiguredNatsServer server("authorization { token: \"s3cret\" }\n");
  EXPECT_NE(connect_error({.servers = {server.url()}}).find("Authorization Violation"),
            std::string::npos);
  EXPECT_NE(connect_error({.servers = {server.url()}, .token = "wrong"}), "(connected)");
  auto connection = connect({.servers = {server.url()}, .token = "s3cret"});
  EXPECT_TRUE(connection.connected());
}

TEST(AuthTls, UserAndPassword) {
  ConfiguredNatsServer server(
      "authorization { users = [ { user: \"agent\", password: \"pw\" } ] }\n");
  EXPECT_NE(connect_error({.servers = {server.url()}}), "(connected)");
  EXPECT_NE(connect_error({.servers = {server.url()}, .user = "agent", .password = "bad"}),
            "(connected)");
  auto connection = connect({.servers = {server.url()}, .user = "agent", .password = "pw"});
  EXPECT_TRUE(connection.connected());
}

TEST(AuthTls, MutualTls) {
  detail::TempDir certificates("polaris-certs-");
  const std::string& dir = certificates.path();
  test::make_certificates(dir);
  ConfiguredNatsServer server("tls {\n  cert_file: \"" + dir + "/server.pem\"\n  key_file: \"" +
                              dir + "/server.key\"\n  ca_file: \"" + dir +
                              "/ca.pem\"\n  verify: true\n}\n");
  const TlsOptions with_client_cert{.ca_file = dir + "/ca.pem",
                                    .cert_file = dir + "/client.pem",
                                    .key_file = dir + "/client.key"};
  auto connection = connect({.servers = {server.url("tls")}, .tls = with_client_cert});
  EXPECT_TRUE(connection.connected());
  // Without a client certificate the server refuses; without TLS the client cannot talk to it.
  EXPECT_NE(connect_error(
                {.servers = {server.url("tls")}, .tls = TlsOptions{.ca_file = dir + "/ca.pem"}}),
            "(connected)");
  EXPECT_NE(connect_error({.servers = {server.url()}}), "(connected)");
  // A server certificate that the given CA did not sign is not trusted.
  EXPECT_NE(connect_error({.servers = {server.url("tls")},
                           .tls = TlsOptions{.ca_file = dir + "/client.pem",  // not its issuer
                                             .cert_file = dir + "/client.pem",
                                             .key_file = dir + "/client.key"}}),
            "(connected)");
}

}  // namespace
}  // namespace polaris
