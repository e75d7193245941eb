#include "registry/request_handlers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "protocol/fields.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"
#include "security/access_policy.hpp"  // is_agent_of

namespace polaris::detail {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

void append(std::string& list, const std::string& item) {
  list += (list.empty() ? "" : "; ") + item;
}

Requester requester_of(const Inbound& message, std::string_view user) {
  return Requester{.reply = message.reply, .subject_user = user};
}

}  // namespace

RequestHandlers::RequestHandlers(const NodeContext& node, const Authorizer& authorizer,
                                 Replication& replication, ClaimWindow& window)
    : node_(node), authorizer_(authorizer), replication_(replication), window_(window) {}

// Parses a request body; answers with a clear failure when it is not JSON.
std::optional<Json> RequestHandlers::parse(const Inbound& message, std::string_view operation) {
  Json json = wire::parse_body(message.body);
  if (json.is_discarded()) {
    node_.log->warn("{}: refused a request that is not JSON", operation);
    refuse_with(message, std::string(operation) + ": invalid request: the body is not valid JSON");
    return std::nullopt;
  }
  return json;
}

void RequestHandlers::refuse_with(const Inbound& message, const std::string& why) {
  node_.bus.respond(message, wire::StatusReply{false, why}.to_json().dump());
}

/// Parses and stamps the declarations of a register or keepalive request.
std::vector<Claim> RequestHandlers::stamp_claims(const Json& declarations, std::string& problems) {
  std::vector<Claim> claims;
  const Stamp stamp = node_.stamps.next();
  for (const auto& declaration : declarations) {
    ParsedClaim parsed = parse_claim(declaration);
    if (!parsed.claim) {
      append(problems, parsed.problem);
      continue;
    }
    parsed.claim->stamp = stamp;
    parsed.claim->origin = node_.node_id;
    claims.push_back(std::move(*parsed.claim));
  }
  return claims;
}

void RequestHandlers::on_register(const Inbound& message) {
  auto json = parse(message, "register");
  if (!json) return;
  if (auto refusal = refuse(message, {}, *json, "register")) return refuse_with(message, *refusal);
  std::string problem;
  auto claims = stamp_claims(Json::array({*json}), problem);
  if (claims.empty()) return refuse_with(message, "register: " + problem);
  register_claims(message, std::move(claims), false);
}

void RequestHandlers::on_batch_register(const Inbound& message, std::string_view user) {
  auto json = parse(message, "register");
  if (!json) return;
  auto tools = json->is_object() ? json->find("tools") : json->end();
  if (!json->is_object() || tools == json->end() || !tools->is_array()) {
    return refuse_with(message, "register: the body must be {\"tools\": [...]}");
  }
  std::vector<Claim> claims;
  std::vector<std::optional<wire::RegisterResult>> results;
  const Stamp stamp = node_.stamps.next();
  for (const auto& declaration : *tools) {
    ParsedClaim parsed = parse_claim(declaration);
    std::optional<std::string> refusal;
    if (!parsed.claim) refusal = "register: " + parsed.problem;
    if (!refusal) refusal = refuse_agent(user, parsed.claim->agent, "register");
    if (!refusal) refusal = refuse(message, user, declaration, "register");
    if (refusal) {
      results.push_back(
          wire::RegisterResult{wire::string_or(declaration, "name", ""), {false, *refusal}});
      continue;
    }
    parsed.claim->stamp = stamp;
    parsed.claim->origin = node_.node_id;
    claims.push_back(std::move(*parsed.claim));
    results.emplace_back();  // decided by register_claims
  }
  register_claims(message, std::move(claims), true, std::move(results));
}

// Applies claims here, tells the other nodes, and answers once no concurrent claim on another
// node can still beat them (the claim window).
void RequestHandlers::register_claims(const Inbound& message, std::vector<Claim> claims, bool batch,
                                      std::vector<std::optional<wire::RegisterResult>> results) {
  const auto now = Clock::now();
  std::vector<Claim> accepted;
  std::vector<std::pair<std::size_t, Claim>> open;
  if (results.empty()) results.resize(claims.size());
  std::size_t slot = 0;
  for (auto& claim : claims) {
    while (slot < results.size() && results[slot]) ++slot;  // refused while parsing
    auto outcome = node_.catalogue.claim(claim, now);
    replication_.publish_revocations(outcome.revoked);
    if (outcome.success) {
      node_.log->info("registered {}{}", claim.name,
                      claim.agent.empty() ? "" : " (agent " + claim.agent + ")");
      accepted.push_back(claim);
      open.emplace_back(slot, std::move(claim));
    } else {
      node_.log->info("{}", outcome.message);
      results[slot] = wire::RegisterResult{claim.name, {false, outcome.message}};
    }
    ++slot;
  }
  const std::uint64_t write = accepted.empty() ? 0 : replication_.publish_claims("claim", accepted);
  window_.answer_when_replicated({.due = now + (node_.clustered ? node_.options.claim_window : 0ms),
                                  .reply_subject = message.reply_subject(),
                                  .open = std::move(open),
                                  .results = std::move(results),
                                  .batch = batch,
                                  .write = write},
                                 now);
}

void RequestHandlers::on_unregister(const Inbound& message, std::string_view user) {
  auto json = parse(message, "unregister");
  if (!json) return;
  // Only who may register a tool may unregister it.
  if (auto refusal = refuse(message, user, *json, "unregister")) {
    return refuse_with(message, *refusal);
  }
  std::string problem;
  auto claims = stamp_claims(Json::array({*json}), problem);
  if (claims.empty()) return refuse_with(message, "unregister: " + problem);
  const auto& claim = claims.front();
  if (auto refusal = refuse_agent(user, claim.agent, "unregister")) {
    return refuse_with(message, *refusal);
  }
  const auto now = Clock::now();
  const auto outcome = node_.catalogue.release(claim.name, claim.agent, claim.stamp, now);
  if (outcome.success) node_.log->info("unregistered {}", claim.name);
  const std::uint64_t write = replication_.replicate(
      {Json{{"op", "release"}, {"name", claim.name}, {"agent", claim.agent}, {"stamp", claim.stamp}}
           .dump()});
  window_.answer_when_replicated(
      {.due = now,
       .reply_subject = message.reply_subject(),
       .write = write,
       .fixed = wire::StatusReply{outcome.success, outcome.message}.to_json().dump()},
      now);
}

void RequestHandlers::on_keepalive(const Inbound& message, std::string_view user) {
  auto json = parse(message, "keepalive");
  if (!json) return;
  if (!json->is_array()) {
    return refuse_with(message, "keepalive: the body must be a JSON array of declarations");
  }
  std::string problems;
  // Keep alive only the tools the requester may register.
  for (const auto& refusal : authorizer_.filter_keepalive(requester_of(message, user), *json)) {
    append(problems, refusal);
  }
  auto claims = stamp_claims(*json, problems);
  // On a user's subject, only that user's agents are kept alive.
  std::erase_if(claims, [&](const Claim& claim) {
    auto refusal = refuse_agent(user, claim.agent, "keepalive");
    if (refusal) append(problems, *refusal);
    return refusal.has_value();
  });
  const auto now = Clock::now();
  replication_.publish_revocations(node_.catalogue.keepalive(claims, now));
  const std::uint64_t write = claims.empty() ? 0 : replication_.publish_claims("keepalive", claims);
  window_.answer_when_replicated(
      {.due = now,
       .reply_subject = message.reply_subject(),
       .write = write,
       .fixed =
           wire::status_reply(problems.empty(), problems.empty() ? "OK" : "keepalive: " + problems)
               .dump()},
      now);
}

void RequestHandlers::on_agent_heartbeat(const Inbound& message, std::string_view user) {
  const Json beat = wire::parse_body(message.body);
  auto agent = wire::string_field(beat, "agent");
  if (!agent) return;
  // Another user's agent must not be kept alive (or asked to resync) by this one.
  if (refuse_agent(user, *agent, "heartbeat")) return;
  const Json& count = wire::field(beat, "tools");
  const auto tools = count.is_number_unsigned() ? count.get<std::size_t>() : std::size_t{0};
  if (node_.catalogue.heartbeat(*agent, tools, Clock::now())) {
    node_.log->info("agent {} serves {} tools this node does not hold; asking it to resync", *agent,
                    tools);
    node_.bus.publish(wire::agent_subject(*agent, "resync"), "{}");
  }
}

// One node takes a leave and replicates it, answering once every live peer applied it
// (read-your-writes, as for registrations).
void RequestHandlers::on_agent_leave(const Inbound& message, std::string_view user) {
  auto json = parse(message, "leave");
  if (!json) return;
  const auto agent_field = wire::string_field(*json, "agent");
  if (!agent_field) return refuse_with(message, R"(leave: the body must be {"agent": "<id>"})");
  const std::string& agent = *agent_field;
  if (auto refusal = refuse_leave(message, user, agent)) return refuse_with(message, *refusal);
  const auto now = Clock::now();
  replication_.mark_leaving(agent);
  const bool known = node_.catalogue.depart(agent);
  if (!known) (void)replication_.left_on_purpose(agent);  // nothing to announce
  replication_.sweep(now);
  const std::uint64_t write =
      replication_.replicate({Json{{"op", "depart"}, {"agent", agent}}.dump()});
  window_.answer_when_replicated(
      {.due = now,
       .reply_subject = message.reply_subject(),
       .write = write,
       .fixed = wire::status_reply(true, known ? "OK" : "OK (no tools of that agent here)").dump()},
      now);
}

std::optional<std::string> RequestHandlers::refuse(const Inbound& message, std::string_view user,
                                                   const Json& declaration,
                                                   std::string_view operation) const {
  return authorizer_.refuse_register(requester_of(message, user), declaration, operation);
}

std::optional<std::string> RequestHandlers::user_request(const Inbound& message,
                                                         std::string_view operation) const {
  std::string user(wire::user_of_subject(message.subject));
  if (user.empty()) return std::nullopt;
  if (authorizer_.refuse_reply(user, message.reply, operation)) return std::nullopt;
  return user;
}

// On a user's own subject every agent id must be one of that user's agents ("<user>.<random>"),
// whether roles are on or not; `user` empty (shared subjects): no check.
std::optional<std::string> RequestHandlers::refuse_agent(std::string_view user,
                                                         std::string_view agent,
                                                         std::string_view operation) const {
  if (user.empty() || is_agent_of(agent, user)) return std::nullopt;
  std::string message = std::string(operation) + ": user " + std::string(user) +
                        " may not speak for agent '" + std::string(agent) + "'";
  node_.log->warn("{}", message);
  return message;
}

// An agent speaks only for itself; with roles, only who may act for it.
std::optional<std::string> RequestHandlers::refuse_leave(const Inbound& message,
                                                         std::string_view user,
                                                         const std::string& agent) const {
  if (auto refusal = refuse_agent(user, agent, "leave")) return refusal;
  return authorizer_.refuse_leave(requester_of(message, user), agent);
}

}  // namespace polaris::detail
