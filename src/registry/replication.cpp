#include "registry/replication.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

#include "client/payload_split.hpp"
#include "protocol/fields.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"

namespace polaris::detail {
namespace {

/// The last token of a subject.
std::string_view last_token(std::string_view subject) {
  const auto dot = subject.rfind('.');
  return dot == std::string_view::npos ? subject : subject.substr(dot + 1);
}

}  // namespace

Replication::Replication(const NodeContext& node, PeerSync& sync, ClaimWindow& window)
    : node_(node),
      sync_(sync),
      window_(window),
      applied_prefix_(std::string(wire::kSyncAppliedPrefix) + unique_token() + ".") {}

std::uint64_t Replication::publish_claims(std::string_view op, const std::vector<Claim>& claims) {
  std::vector<std::string> texts;
  texts.reserve(claims.size());
  for (const auto& claim : claims) texts.push_back(to_json(claim).dump());
  const std::string open = R"({"op":")" + std::string(op) + R"(","claims":[)";
  const auto split = split_bodies(texts, open, "]}", node_.bus.max_payload());
  for (const auto index : split.too_large) {
    node_.log->error("cannot replicate {}: its claim exceeds the max payload", claims[index].name);
  }
  return replicate(split.bodies);
}

std::uint64_t Replication::replicate(const std::vector<std::string>& bodies) {
  using namespace std::chrono_literals;
  const bool wait = node_.clustered && node_.options.replication_timeout > 0ms;
  const auto peers = wait ? sync_.live_peers() : std::vector<std::string>{};
  const std::uint64_t write = peers.empty() ? 0 : window_.begin_write(peers, bodies.size());
  const std::string reply = write == 0 ? "" : applied_prefix_ + std::to_string(write);
  const std::string subject(wire::kSyncEventSubject);
  for (const auto& body : bodies) node_.bus.publish_request(subject, reply, body);
  return write;
}

void Replication::publish_revocations(const std::vector<Catalogue::Revocation>& revoked) {
  for (const auto& revocation : revoked) {
    node_.log->warn("revoked {} from agent {}: {}", revocation.name, revocation.agent,
                    revocation.message);
    node_.bus.publish(wire::agent_subject(revocation.agent, "revoked"),
                      wire::Revocation{revocation.name, revocation.message}.to_json().dump());
  }
}

// Any order of events converges (see Catalogue). The event's origin waits for this node's
// confirmation before it answers its client (read-your-writes): confirm only once the change is
// applied here.
void Replication::on_event(const Inbound& message) {
  Json event = wire::parse_body(message.body);
  if (sync_.hold_until_synced(event)) return;
  apply_event(event);
  if (const std::string reply = message.reply_subject(); !reply.empty()) {
    node_.bus.publish(reply, Json{{"node", node_.node_id}}.dump());
  }
}

void Replication::apply_event(const Json& event) {
  try {
    const auto now = Clock::now();
    const std::string op = event.at("op").get<std::string>();
    if (op == "claim" || op == "keepalive") {
      apply_claims(op, event, now);
    } else if (op == "depart") {
      // A leave another node took: withdraw the agent's tools here too before confirming.
      const auto agent = event.at("agent").get<std::string>();
      mark_leaving(agent);
      if (node_.catalogue.depart(agent)) {
        sweep(now);
      } else {
        (void)left_on_purpose(agent);  // not known here: nothing to announce
      }
    } else if (op == "release") {
      const auto stamp = event.at("stamp").get<Stamp>();
      node_.stamps.observe(stamp);
      node_.catalogue.release(event.at("name").get<std::string>(),
                              event.at("agent").get<std::string>(), stamp, now);
    }
  } catch (const std::exception& e) {
    node_.log->warn("ignored a malformed replication event: {}", e.what());
  }
}

void Replication::apply_claims(const std::string& op, const Json& event, Clock::time_point now) {
  std::vector<Claim> claims;
  for (const auto& item : event.at("claims")) {
    claims.push_back(claim_from_json(item));
    node_.stamps.observe(claims.back().stamp);
  }
  if (op == "keepalive") {
    // Revocations of lost keepalives are told by the node that took the keepalive.
    node_.catalogue.keepalive(claims, now);
    return;
  }
  for (const auto& claim : claims) publish_revocations(node_.catalogue.claim(claim, now).revoked);
}

void Replication::on_applied(const Inbound& message) {
  const auto node = wire::string_field(wire::parse_body(message.body), "node");
  if (!node) return;
  const std::string_view id = last_token(message.subject);
  std::uint64_t write = 0;
  if (std::from_chars(id.data(), id.data() + id.size(), write).ec != std::errc{}) return;
  window_.confirm(write, *node);
}

void Replication::sweep(Clock::time_point now) {
  const auto result = node_.catalogue.sweep(now);
  for (const auto& gone : result.gone_agents) {
    if (gone.departed) {
      node_.log->info("agent {} left, withdrawing its {} tool(s)", gone.agent, gone.tools.size());
    } else {
      node_.log->info("agent {} is gone: no heartbeat for {} ms", gone.agent,
                      node_.options.agent_timeout.count());
    }
    // Callers leave alone the calls of an agent that left on purpose (it drains them), not
    // those of one whose connection dropped (also a departure for the catalogue).
    wire::AgentGone message{gone.agent, {}, gone.departed && left_on_purpose(gone.agent)};
    for (const auto& tool : gone.tools) {
      message.tools.push_back({wire::string_or(tool, "name", ""),
                               wire::bool_field(tool, "idempotent").value_or(false)});
    }
    node_.bus.publish(std::string(wire::kAgentGoneSubject), message.to_json().dump());
  }
  for (const auto& name : result.expired) node_.log->info("removed {}", name);
}

void Replication::mark_leaving(const std::string& agent) {
  std::lock_guard lock(leaving_mutex_);
  leaving_.insert(agent);
}

bool Replication::left_on_purpose(const std::string& agent) {
  std::lock_guard lock(leaving_mutex_);
  return leaving_.erase(agent) > 0;
}

}  // namespace polaris::detail
