// The nats-server configuration a registry generates.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace polaris::detail
