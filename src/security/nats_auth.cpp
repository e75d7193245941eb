// Roles as NATS permissions. The colon-named reference subjects are single NATS tokens, so no
// wildcard can select "the tools of this user": every tool subject is listed exactly (see
// docs/SECURITY.md). Deny entries win over allow entries in nats-server.
#include "security/nats_auth.hpp"

#include <sstream>

#include "protocol/wire.hpp"

namespace polaris::detail {
namespace {

// polaris-only subjects of the high-availability extensions (docs/PROTOCOL.md).
constexpr const char* kHaRegister = "polaris.registry.register";
constexpr const char* kHaList = "polaris.registry.list";
constexpr const char* kHeartbeat = "polaris.agent.heartbeat";
constexpr const char* kAgentGone = "polaris.registry.agent.gone";

bool any_tool(const UserConfig& user) { return user.tools.size() == 1 && user.tools[0] == "*"; }

// Under roles every connection has a user, so agent ids are "<user>.<random>" (see
// agent_namespace_of): an agent's subjects are polaris.agent.<user>.<random>.<verb>.
std::string direct_subject(std::string_view tool) {
  return "polaris.agent.*.*.call." + std::string(tool);
}

std::string agent_namespace(const UserConfig& user) { return "polaris.agent." + user.name + ".>"; }

// The registry write subjects whose requests carry no identity: only admins (and the registry)
// may publish there. Everyone else writes on its own polaris.registry.user.<name>.<verb>.
Json registry_write_subjects() {
  return Json::array({wire::kRegisterSubject, wire::kUnregisterSubject, wire::kKeepaliveSubject,
                      kHaRegister, kHeartbeat, wire::kAgentLeaveSubject});
}

// The ADR-32 service-discovery subjects of the service "polaris" (service_discovery.cpp
// subscribes to exactly these, no wildcard). No entry ends in a wildcard below "$SRV" itself:
// nats-server 2.9 checks a subscription's own wildcards against the allow list as if they were
// literal tokens, so an allowed "$SRV.*" would let "$SRV.>" through.
Json service_discovery_subjects() {
  Json subjects = Json::array();
  for (const char* verb : {"PING", "INFO", "STATS"}) {
    const std::string base = std::string("$SRV.") + verb;
    subjects.push_back(base);
    subjects.push_back(base + ".polaris");
    subjects.push_back(base + ".polaris.*");
  }
  return subjects;
}

Json agent_permissions(const UserConfig& user, std::chrono::seconds window) {
  // The loader refuses ["*"] for agents (a subscribe permission "*" lets ">" through).
  Json publish = Json::array({wire::user_subject(user.name, "*"), wire::kListSubject, kHaList,
                              wire::kAgentBackSubject, wire::kCallerAskSubject});
  // Its own agent subjects (direct calls, resync, revoked) and nobody else's.
  Json subscribe = Json::array({inbox_prefix_for(user.name) + ".>", agent_namespace(user),
                                kAgentGone, wire::kAgentBackSubject, wire::kCallerAskSubject});
  for (const auto& subject : service_discovery_subjects()) subscribe.push_back(subject);
  for (const auto& tool : user.tools) subscribe.push_back(wire::tool_subject(tool));
  // The tools it may call as well (an LLM agent's), as a caller of that list may.
  for (const auto& tool : user.calls) {
    publish.push_back(wire::tool_subject(tool));
    publish.push_back(direct_subject(tool));
  }
  Json permissions{{"publish", {{"allow", publish}}}, {"subscribe", {{"allow", subscribe}}}};
  // Agents answer calls on the caller's reply subject only (acknowledgements, progress and log
  // messages, the reply): they may not publish into inboxes otherwise. nats-server takes a
  // negative max as "no limit"; the window still bounds how long a reply subject stays open.
  permissions["allow_responses"] = {{"max", -1}, {"expires", std::to_string(window.count()) + "s"}};
  return permissions;
}

Json caller_permissions(const UserConfig& user) {
  // A reconnected caller asks the agents for its calls (wire::kCallerAskSubject); it may not
  // announce itself as an agent (wire::kAgentBackSubject), which would send other callers' calls
  // to a direct subject of its choice.
  Json publish = Json::array({wire::kListSubject, kHaList, wire::kCallerAskSubject});
  Json deny_publish = Json::array();
  if (any_tool(user)) {
    // Publish only: "*" covers every one-token subject (every colon-named tool subject), minus
    // the reference's write subjects. Publishing to a pattern reaches no other user's inbox.
    publish.push_back("*");
    publish.push_back(direct_subject("*"));
    deny_publish = registry_write_subjects();
  } else {
    for (const auto& tool : user.tools) {
      publish.push_back(wire::tool_subject(tool));
      publish.push_back(direct_subject(tool));
    }
  }
  Json permissions{
      {"publish", {{"allow", publish}}},
      {"subscribe",
       {{"allow", Json::array({inbox_prefix_for(user.name) + ".>", agent_namespace(user),
                               kAgentGone, wire::kAgentBackSubject, wire::kCallerAskSubject})}}}};
  if (!deny_publish.empty()) permissions["publish"]["deny"] = deny_publish;
  return permissions;
}

std::string quoted(const std::string& text) { return Json(text).dump(); }

void render_tls(std::ostringstream& out, const ServerTlsConfig& tls, const char* indent,
                bool with_verify) {
  out << indent << "tls {\n";
  out << indent << "  cert_file: " << quoted(tls.cert_file) << "\n";
  out << indent << "  key_file: " << quoted(tls.key_file) << "\n";
  if (!tls.ca_file.empty()) out << indent << "  ca_file: " << quoted(tls.ca_file) << "\n";
  if (with_verify) out << indent << "  verify: " << (tls.verify_clients ? "true" : "false") << "\n";
  out << indent << "  timeout: 5\n";
  out << indent << "}\n";
}

}  // namespace

Json permissions_for(const UserConfig& user, std::chrono::seconds response_window) {
  switch (user.role) {
    case Role::agent:
      return agent_permissions(user, response_window);
    case Role::caller:
      return caller_permissions(user);
    case Role::admin:
      break;
  }
  return nullptr;
}

NatsConfigExtras render_nats_security(const SecurityConfig& config, const InternalUser& internal) {
  NatsConfigExtras extras;
  std::ostringstream top;
  if (!config.token.empty()) {
    // nats-server accepts a bcrypt hash in place of the token; the file never holds the token.
    top << "authorization {\n  token: " << quoted(hash_password(config.token)) << "\n}\n";
  } else if (!config.users.empty()) {
    Json users = Json::array();
    users.push_back({{"user", internal.name}, {"password", internal.password_hash}});
    for (const auto& user : config.users) {
      Json entry{{"user", user.name}, {"password", user.password_hash}};
      if (config.roles()) {
        Json permissions = permissions_for(user, config.response_window);
        if (!permissions.is_null()) entry["permissions"] = std::move(permissions);
      }
      users.push_back(std::move(entry));
    }
    extras.users = std::move(users);  // render_nats_config places them (an account)
  }
  if (config.tls) render_tls(top, *config.tls, "", /*with_verify=*/true);
  std::ostringstream cluster;
  // Routes always verify the peer's certificate against the CA.
  if (config.cluster_tls) render_tls(cluster, *config.cluster_tls, "  ", /*with_verify=*/false);
  extras.top_level = top.str();
  extras.cluster = cluster.str();
  return extras;
}

}  // namespace polaris::detail
