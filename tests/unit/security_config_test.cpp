// The security configuration: YAML loading and its rules, bcrypt, the access policy and the
// NATS permissions each role gets. (Their effect on real servers: integration/security_test.)
#include <gtest/gtest.h>

#include <fstream>

#include "polaris/error.hpp"
#include "polaris/security.hpp"
#include "process/child_process.hpp"
#include "security/access_policy.hpp"
#include "security/nats_auth.hpp"
#include "security/registry_security.hpp"
#include "security/secrets.hpp"

namespace polaris {
namespace {

// A bcrypt hash computed once: hashing is deliberately slow.
const std::string& known_hash() {
  static const std::string hash = hash_password("pw");
  return hash;
}

class SecurityConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& yaml) {
    const std::string path = dir_.path() + "/registry.yaml";
    std::ofstream(path) << yaml;
    return path;
  }
  std::string load_error(const std::string& yaml) {
    try {
      load_security_config(write(yaml));
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), Errc::invalid_argument);
      return error.what();
    }
    return "(loaded)";
  }
  detail::TempDir dir_{"sec-unit-"};
};

TEST(Bcrypt, HashesVerifyAndDiffer) {
  const std::string& hash = known_hash();
  EXPECT_TRUE(hash.starts_with("$2b$08$")) << hash;  // kPasswordHashCost
  // The registry's own random secrets: bcrypt's lowest cost.
  EXPECT_TRUE(detail::bcrypt_hash("pw", detail::kSecretHashCost).starts_with("$2b$04$"));
  EXPECT_TRUE(password_matches("pw", detail::bcrypt_hash("pw", detail::kSecretHashCost)));
  EXPECT_EQ(hash.size(), 60U);
  EXPECT_TRUE(password_matches("pw", hash));
  EXPECT_FALSE(password_matches("pW", hash));
  EXPECT_FALSE(password_matches("pw", "not a hash"));
  EXPECT_NE(hash_password("pw"), hash);  // a fresh salt each time
  EXPECT_THROW(hash_password(""), Error);
}

TEST_F(SecurityConfigTest, LoadsUsersRolesTlsAndResolvesPaths) {
  std::ofstream(dir_.path() + "/cert.pem") << "x";
  std::ofstream(dir_.path() + "/key.pem") << "x";
  std::ofstream(dir_.path() + "/ca.pem") << "x";
  std::ofstream(dir_.path() + "/attach-password") << "s3cret\n";
  const auto config = load_security_config(
      write("auth:\n"
            "  response_window: 30m\n"
            "  users:\n"
            "    - {name: ops, password_hash: '" +
            known_hash() +
            "', role: admin}\n"
            "    - name: alice\n"
            "      password_hash: '" +
            known_hash() +
            "'\n"
            "      role: caller\n"
            "      tools: [calculator, weather]\n"
            "    - {name: worker, password_hash: '" +
            known_hash() +
            "', role: agent, tools: [weather]}\n"
            "tls: {cert_file: cert.pem, key_file: key.pem, ca_file: ca.pem, verify_clients: true}\n"
            "cluster_tls: {cert_file: cert.pem, key_file: key.pem, ca_file: ca.pem}\n"
            "attach: {user: registry, password_file: attach-password}\n"));
  ASSERT_EQ(config.users.size(), 3U);
  EXPECT_EQ(config.users[1].name, "alice");
  EXPECT_EQ(config.users[1].role, Role::caller);
  EXPECT_EQ(config.users[1].tools, (std::vector<std::string>{"calculator", "weather"}));
  EXPECT_EQ(config.users[2].role, Role::agent);
  EXPECT_TRUE(config.roles());
  EXPECT_EQ(config.response_window, std::chrono::minutes(30));
  ASSERT_TRUE(config.tls);
  EXPECT_EQ(config.tls->cert_file, dir_.path() + "/cert.pem");
  EXPECT_TRUE(config.tls->verify_clients);
  ASSERT_TRUE(config.cluster_tls);
  EXPECT_EQ(config.attach.password, "s3cret");
  EXPECT_FALSE(config.source_file.empty());
}

TEST_F(SecurityConfigTest, RefusesWhatWouldBeInsecureOrAmbiguous) {
  const std::string hash = "'" + known_hash() + "'";
  EXPECT_NE(load_error("auth: {userz: []}\n").find("unknown key 'userz'"), std::string::npos);
  EXPECT_NE(load_error("auth:\n  users:\n    - {name: a, password: pw, role: caller}\n")
                .find("unknown key 'password'"),
            std::string::npos);
  EXPECT_NE(load_error("auth:\n  users:\n    - {name: a, password_hash: " + hash + "}\n")
                .find("a role is required"),
            std::string::npos);
  EXPECT_NE(load_error("auth:\n  users:\n    - {name: a, password_hash: nothash, role: caller}\n")
                .find("bcrypt"),
            std::string::npos);
  EXPECT_NE(
      load_error("auth:\n  users:\n    - {name: a.b, password_hash: " + hash + ", role: caller}\n")
          .find("letters, digits"),
      std::string::npos);
  EXPECT_NE(
      load_error("auth:\n  users:\n    - {name: a, password_hash: " + hash +
                 ", role: caller}\n    - {name: a, password_hash: " + hash + ", role: agent}\n")
          .find("appears twice"),
      std::string::npos);
  EXPECT_NE(load_error("auth:\n  users:\n    - {name: a, password_hash: " + hash +
                       ", role: caller, tools: ['x*']}\n")
                .find("cannot be a tool name"),
            std::string::npos);
  EXPECT_NE(
      load_error("auth:\n  reference_compat: true\n  users:\n    - {name: a, password_hash: " +
                 hash + ", role: caller}\n")
          .find("reference_compat is on"),
      std::string::npos);
  EXPECT_NE(load_error("auth: {token_env: SEC_UNIT_TEST_SURELY_UNSET}\n").find("is not set"),
            std::string::npos);
  EXPECT_NE(
      load_error("tls: {cert_file: missing.pem, key_file: missing.key}\n").find("cannot read"),
      std::string::npos);
  // An agent serving any tool could subscribe to ">" (issue 11): refused, naming the user.
  const std::string any_agent =
      load_error("auth:\n  users:\n    - {name: bridge, password_hash: " + hash +
                 ", role: agent, tools: ['*']}\n");
  EXPECT_NE(any_agent.find("user 'bridge': an agent's tools cannot be [\"*\"]"), std::string::npos)
      << any_agent;
  EXPECT_EQ(load_error("auth:\n  users:\n    - {name: any, password_hash: " + hash +
                       ", role: caller, tools: ['*']}\n"),
            "(loaded)");
  EXPECT_NE(load_error("auth: [1, 2]\n").find("must be a mapping"), std::string::npos);
  EXPECT_NE(load_error("auth: {response_window: soon}\n").find("not a duration"),
            std::string::npos);
  // calls: an agent's (an LLM agent's tools), names only.
  EXPECT_EQ(load_error("auth:\n  users:\n    - {name: llm, password_hash: " + hash +
                       ", role: agent, tools: [researcher], calls: [calculator]}\n"),
            "(loaded)");
  EXPECT_NE(load_error("auth:\n  users:\n    - {name: c, password_hash: " + hash +
                       ", role: caller, tools: [a], calls: [b]}\n")
                .find("user 'c': only an agent has calls"),
            std::string::npos);
  EXPECT_NE(load_error("auth:\n  users:\n    - {name: llm, password_hash: " + hash +
                       ", role: agent, tools: [r], calls: ['*']}\n")
                .find("user 'llm': '*' in calls cannot be a tool name"),
            std::string::npos);
}

TEST_F(SecurityConfigTest, ReferenceCompatAuthenticatesWithoutRoles) {
  const auto config = load_security_config(
      write("auth:\n  reference_compat: true\n  users:\n    - {name: go, password_hash: '" +
            known_hash() + "'}\n"));
  EXPECT_FALSE(config.roles());
  const auto extras = detail::render_nats_security(config, {.password_hash = known_hash()});
  EXPECT_EQ(extras.users.dump().find("permissions"), std::string::npos) << extras.users.dump();
}

SecurityConfig roles_config() {
  SecurityConfig config;
  config.users = {
      {.name = "ops", .password_hash = known_hash(), .role = Role::admin},
      {.name = "alice", .password_hash = known_hash(), .role = Role::caller, .tools = {"calc"}},
      {.name = "any", .password_hash = known_hash(), .role = Role::caller, .tools = {"*"}},
      {.name = "worker", .password_hash = known_hash(), .role = Role::agent, .tools = {"calc"}},
  };
  return config;
}

TEST(AccessPolicy, ReadsTheUserFromItsInboxAndAppliesRoles) {
  const detail::AccessPolicy policy(roles_config());
  EXPECT_EQ(policy.user_of_reply("_INBOX.alice.abc.7"), "alice");
  EXPECT_EQ(policy.user_of_reply("_INBOX.alice"), std::nullopt);
  EXPECT_EQ(policy.user_of_reply("_INBOX.mallory.abc.7"), std::nullopt);
  EXPECT_EQ(policy.user_of_reply("_INBOX.abcdefghijklmnopqrstuv.7"), std::nullopt);
  EXPECT_EQ(policy.user_of_reply(""), std::nullopt);
  const std::optional<std::string> alice = "alice";
  const std::optional<std::string> worker = "worker";
  const std::optional<std::string> any = "any";
  EXPECT_TRUE(policy.may_list(alice, "calc"));
  EXPECT_FALSE(policy.may_list(alice, "secret"));
  EXPECT_TRUE(policy.may_list(any, "secret"));
  EXPECT_TRUE(policy.may_list(std::optional<std::string>("ops"), "secret"));
  EXPECT_FALSE(policy.may_list(std::nullopt, "calc"));
  EXPECT_FALSE(policy.may_register(alice, "calc"));
  EXPECT_FALSE(policy.may_register(any, "calc"));
  EXPECT_TRUE(policy.may_register(worker, "calc"));
  EXPECT_FALSE(policy.may_register(worker, "secret"));
  EXPECT_TRUE(policy.may_register(std::optional<std::string>("ops"), "secret"));
  EXPECT_FALSE(policy.may_register(std::nullopt, "calc"));
  // Speaking for an agent (leave): agents for their own ids, admins for any, callers never.
  EXPECT_TRUE(policy.may_act_for_agent(worker, "worker.Xy12"));
  EXPECT_FALSE(policy.may_act_for_agent(worker, "workers.Xy12"));
  EXPECT_FALSE(policy.may_act_for_agent(worker, "worker."));
  EXPECT_FALSE(policy.may_act_for_agent(worker, "other.Xy12"));
  EXPECT_TRUE(policy.may_act_for_agent(std::optional<std::string>("ops"), "worker.Xy12"));
  EXPECT_FALSE(policy.may_act_for_agent(alice, "alice.Xy12"));
  EXPECT_FALSE(policy.may_act_for_agent(std::nullopt, "worker.Xy12"));
}

bool contains(const Json& list, const std::string& subject) {
  return std::find(list.begin(), list.end(), Json(subject)) != list.end();
}

TEST(NatsPermissions, CallersCallAndListTheirToolsOnly) {
  const Json p = detail::permissions_for(roles_config().users[1], std::chrono::seconds(60));
  const Json& pub = p["publish"]["allow"];
  EXPECT_TRUE(contains(pub, "polaris:user-func:calc"));
  EXPECT_TRUE(contains(pub, "polaris:tool:list"));
  EXPECT_TRUE(contains(pub, "polaris.agent.*.*.call.calc"));
  EXPECT_FALSE(contains(pub, "polaris:tool:register"));
  // A reconnected caller asks agents for its calls, but may not announce itself as an agent.
  EXPECT_TRUE(contains(pub, "polaris.agent.ask"));
  EXPECT_FALSE(contains(pub, "polaris.agent.back"));
  EXPECT_EQ(p["subscribe"]["allow"],
            Json::array({"_INBOX.alice.>", "polaris.agent.alice.>", "polaris.registry.agent.gone",
                         "polaris.agent.back", "polaris.agent.ask"}));
  EXPECT_FALSE(p.contains("allow_responses"));
}

TEST(NatsPermissions, AnyToolCallersStillCannotWriteTheRegistry) {
  const Json p = detail::permissions_for(roles_config().users[2], std::chrono::seconds(60));
  EXPECT_TRUE(contains(p["publish"]["allow"], "*"));
  EXPECT_TRUE(contains(p["publish"]["deny"], "polaris:tool:register"));
  EXPECT_TRUE(contains(p["publish"]["deny"], "polaris:tool:keepalive"));
}

TEST(NatsPermissions, AgentsServeTheirToolsAndAnswerOnlyReplies) {
  const Json p = detail::permissions_for(roles_config().users[3], std::chrono::seconds(90));
  // Registry writes only on its own subjects, which tell the registry who sends (issue 11).
  EXPECT_TRUE(contains(p["publish"]["allow"], "polaris.registry.user.worker.*"));
  for (const char* shared :
       {"polaris:tool:register", "polaris:tool:keepalive", "polaris:tool:unregister",
        "polaris.registry.register", "polaris.agent.heartbeat", "polaris.registry.agent.leave"}) {
    EXPECT_FALSE(contains(p["publish"]["allow"], shared)) << shared;
  }
  EXPECT_TRUE(contains(p["publish"]["allow"], "polaris.agent.back"));
  EXPECT_TRUE(contains(p["publish"]["allow"], "polaris.agent.ask"));
  EXPECT_TRUE(contains(p["subscribe"]["allow"], "polaris.agent.ask"));
  // Service discovery of the polaris service only, and no pattern "$SRV.>" would pass through.
  EXPECT_TRUE(contains(p["subscribe"]["allow"], "$SRV.PING"));
  EXPECT_TRUE(contains(p["subscribe"]["allow"], "$SRV.INFO.polaris"));
  EXPECT_TRUE(contains(p["subscribe"]["allow"], "$SRV.STATS.polaris.*"));
  EXPECT_FALSE(contains(p["subscribe"]["allow"], "$SRV.>"));
  EXPECT_FALSE(contains(p["subscribe"]["allow"], "$SRV.*"));
  EXPECT_FALSE(contains(p["subscribe"]["allow"], "*"));
  EXPECT_FALSE(contains(p["publish"]["allow"], "polaris:user-func:calc"));
  EXPECT_TRUE(contains(p["subscribe"]["allow"], "polaris:user-func:calc"));
  // Its own agent subjects only: ids are "<user>.<random>" (direct calls, resync, revoked).
  EXPECT_TRUE(contains(p["subscribe"]["allow"], "polaris.agent.worker.>"));
  EXPECT_FALSE(contains(p["subscribe"]["allow"], "polaris.agent.*.*.call.calc"));
  EXPECT_TRUE(contains(p["subscribe"]["allow"], "_INBOX.worker.>"));
  EXPECT_FALSE(contains(p["subscribe"]["allow"], "polaris:tool:register"));
  EXPECT_EQ(p["allow_responses"], (Json{{"max", -1}, {"expires", "90s"}}));
  EXPECT_TRUE(detail::permissions_for(roles_config().users[0], std::chrono::seconds(1)).is_null());
}

TEST(SecurityReload, RefusesWhatOnlyARestartCanApply) {
  const SecurityConfig users = roles_config();
  SecurityConfig token;
  token.token = "t0ken";
  SecurityConfig none;
  SecurityConfig other_users = roles_config();
  other_users.users.pop_back();  // users, roles and lists may change
  EXPECT_NO_THROW(detail::refuse_restart_only_changes(users, other_users));
  EXPECT_NO_THROW(detail::refuse_restart_only_changes(token, token));
  for (const auto& [from, to] : std::vector<std::pair<SecurityConfig, SecurityConfig>>{
           {users, token}, {token, users}, {none, users}, {users, none}}) {
    EXPECT_THROW(detail::refuse_restart_only_changes(from, to), Error);
  }
  SecurityConfig new_token = token;
  new_token.token = "other";
  EXPECT_THROW(detail::refuse_restart_only_changes(token, new_token), Error);
  SecurityConfig with_tls = roles_config();
  with_tls.tls = ServerTlsConfig{.cert_file = "c.pem", .key_file = "k.pem"};
  EXPECT_THROW(detail::refuse_restart_only_changes(users, with_tls), Error);
  SecurityConfig new_certificate = with_tls;
  new_certificate.tls->cert_file = "renewed.pem";
  EXPECT_NO_THROW(detail::refuse_restart_only_changes(with_tls, new_certificate));
}

TEST(NatsPermissions, RenderedConfigHoldsHashesNotSecrets) {
  SecurityConfig config = roles_config();
  config.cluster_tls = ServerTlsConfig{.cert_file = "c.pem", .key_file = "k.pem", .ca_file = "ca"};
  const detail::InternalUser internal{.password = "plain-secret", .password_hash = known_hash()};
  const auto extras = detail::render_nats_security(config, internal);
  EXPECT_EQ(extras.top_level.find("plain-secret"), std::string::npos);
  EXPECT_EQ(extras.users.dump().find("plain-secret"), std::string::npos);
  EXPECT_NE(extras.users.dump().find("_polaris_registry"), std::string::npos);
  EXPECT_NE(extras.users.dump().find("\"_INBOX.alice.>\""), std::string::npos);
  EXPECT_NE(extras.cluster.find("cert_file: \"c.pem\""), std::string::npos);
  SecurityConfig token;
  token.token = "tok-secret";
  const auto token_extras = detail::render_nats_security(token, internal);
  EXPECT_EQ(token_extras.top_level.find("tok-secret"), std::string::npos);
  EXPECT_NE(token_extras.top_level.find("token: \"$2b$"), std::string::npos);
}

}  // namespace
}  // namespace polaris
