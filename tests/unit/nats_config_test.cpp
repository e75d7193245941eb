// The nats-server configuration a registry generates.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "process/child_process.hpp"
#include "registry/nats_server.hpp"

namespace polaris::detail {
namespace {

TEST(NatsConfig, SingleNode) {
  RegistryOptions options;
  options.bind = {.host = "127.0.0.1", .port = 0};
  const std::string config = render_nats_config(options, "/tmp/x");
  EXPECT_NE(config.find("port: -1\n"), std::string::npos) << config;
  EXPECT_NE(config.find("max_payload: 1048576\n"), std::string::npos);
  EXPECT_NE(config.find("ports_file_dir: \"/tmp/x\"\n"), std::string::npos);
  EXPECT_NE(config.find("ping_interval: \"1s\"\nping_max: 3\n"), std::string::npos) << config;
  EXPECT_EQ(config.find("cluster"), std::string::npos);
}

TEST(NatsConfig, ClusterWithRoutesAndQuoting) {
  RegistryOptions options;
  options.bind.port = 4223;
  options.cluster = {
      .name = "my \"cluster\"", .host = "127.0.0.1", .port = 5223, .advertise = "127.0.0.1:5223"};
  options.routes = {"nats://127.0.0.1:5222"};
  const std::string config = render_nats_config(options, "/tmp/x");
  EXPECT_NE(config.find("port: 4223\n"), std::string::npos) << config;
  EXPECT_NE(config.find("name: \"my \\\"cluster\\\"\""), std::string::npos) << config;
  EXPECT_NE(config.find("port: 5223\n"), std::string::npos);
  EXPECT_NE(config.find("advertise: \"127.0.0.1:5223\""), std::string::npos);
  EXPECT_NE(config.find("\"nats://127.0.0.1:5222\""), std::string::npos);
}

TEST(NatsConfig, NoMonitoringEndpointUnlessAskedFor) {
  RegistryOptions options;
  EXPECT_EQ(render_nats_config(options, "/tmp/x").find("http"), std::string::npos);
  options.monitor = Endpoint{.host = "127.0.0.1", .port = 0};
  EXPECT_NE(render_nats_config(options, "/tmp/x").find("http: \"127.0.0.1:-1\"\n"),
            std::string::npos);
}

TEST(NatsConfig, SystemAccountWithAnAnonymousUserWhenNoUsersAreConfigured) {
  RegistryOptions options;
  SystemAccount system{.password_hash = "$2b$11$hash", .anonymous = true};
  const std::string config = render_nats_config(options, "/tmp/x", {}, &system);
  EXPECT_NE(config.find("system_account: \"$SYS\"\n"), std::string::npos) << config;
  EXPECT_NE(config.find(R"({"password":"$2b$11$hash","user":"_polaris_system"})"),
            std::string::npos)
      << config;
  EXPECT_NE(config.find("no_auth_user: \"_polaris_anonymous\"\n"), std::string::npos) << config;

  system.anonymous = false;  // users come from the security configuration
  const std::string with_users = render_nats_config(options, "/tmp/x", {}, &system);
  EXPECT_EQ(with_users.find("no_auth_user"), std::string::npos) << with_users;
  EXPECT_EQ(with_users.find("authorization"), std::string::npos) << with_users;
  EXPECT_NE(with_users.find("system_account"), std::string::npos) << with_users;
}

TEST(ChildProcessEnvironment, OnlyWhatIsGivenWhenNotInherited) {
  ::setenv("POLARIS_TEST_INHERITED", "visible", 1);  // NOLINT(concurrency-mt-unsafe)
  std::vector<std::string> lines;
  {
    ChildProcess env({.argv = {"env"}, .extra_env = {"ONLY=this"}, .inherit_env = false});
    ASSERT_TRUE(env.wait_for_exit(std::chrono::seconds(10)));
    env.stop();  // joins the supervisor: every line is kept
    lines = env.last_lines();
  }
  EXPECT_EQ(lines, std::vector<std::string>{"ONLY=this"});
  ChildProcess inherited({.argv = {"env"}});
  ASSERT_TRUE(inherited.wait_for_exit(std::chrono::seconds(10)));
  inherited.stop();
  const auto all = inherited.last_lines();
  EXPECT_NE(std::find(all.begin(), all.end(), "POLARIS_TEST_INHERITED=visible"), all.end());
  ::unsetenv("POLARIS_TEST_INHERITED");  // NOLINT(concurrency-mt-unsafe)
}

TEST(ChildProcessEnvironment, TheNatsServerGetsNoVariableOfOurs) {
  ::setenv("POLARIS_TEST_SECRET_PASSWORD", "s3cret", 1);  // NOLINT(concurrency-mt-unsafe)
  for (const auto& entry : nats_server_environment()) {
    const std::string name = entry.substr(0, entry.find('='));
    EXPECT_TRUE(name == "PATH" || name == "TZ" || name.rfind("GO", 0) == 0) << entry;
  }
  ::unsetenv("POLARIS_TEST_SECRET_PASSWORD");  // NOLINT(concurrency-mt-unsafe)
}

}  // namespace
}  // namespace polaris::detail
