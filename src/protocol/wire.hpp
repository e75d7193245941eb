// Internal: the reference wire protocol's subjects and reply bodies (see docs/PROTOCOL.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "polaris/json.hpp"
#include "protocol/names.hpp"

namespace polaris::wire {

inline constexpr std::string_view kRegisterSubject = "polaris:tool:register";
inline constexpr std::string_view kUnregisterSubject = "polaris:tool:unregister";
inline constexpr std::string_view kKeepaliveSubject = "polaris:tool:keepalive";
inline constexpr std::string_view kListSubject = "polaris:tool:list";
inline constexpr std::string_view kToolSubjectPrefix = "polaris:user-func:";
/// polaris-native subjects (docs/PROTOCOL.md, "High availability").
inline constexpr std::string_view kBatchRegisterSubject = "polaris.registry.register";
inline constexpr std::string_view kPagedListSubject = "polaris.registry.list";
inline constexpr std::string_view kAgentHeartbeatSubject = "polaris.agent.heartbeat";
/// An agent that reconnected, {"agent": "<id>", "reply_subjects": [...]}: the callers whose
/// reply subjects are named re-send those calls to it, so that it answers on the new connection
/// replies lost with (or refused after) the old one (docs/PROTOCOL.md).
inline constexpr std::string_view kAgentBackSubject = "polaris.agent.back";
/// A caller that reconnected asks which agents hold its calls, {"caller": "<inbox prefix>"},
/// with a reply subject below that prefix (kCallerAskReplyToken): each agent holding calls whose
/// reply subjects start with "<inbox prefix>." answers there, and there only, with a
/// kAgentBackSubject body. An ask whose reply subject is not below the prefix is ignored, so
/// only the prefix's owner (who alone may read it under roles) learns anything
/// (docs/SECURITY.md). A subject of its own, apart from kAgentBackSubject, so that callers may
/// ask without being able to announce themselves as agents.
inline constexpr std::string_view kCallerAskSubject = "polaris.agent.ask";
/// The last token of a caller's ask reply subject: "<inbox prefix>.back".
inline constexpr std::string_view kCallerAskReplyToken = "back";
inline constexpr std::string_view kAgentGoneSubject = "polaris.registry.agent.gone";
/// A closing agent withdraws all its tools at once, {"agent": "<id>"}: one node (queue group)
/// removes them as if the agent had gone silent, replicates that ({"op": "depart"}) and answers
/// {"success", "msg"} once every live peer applied it (read-your-writes).
inline constexpr std::string_view kAgentLeaveSubject = "polaris.registry.agent.leave";
/// A registry write request sent by one user: "polaris.registry.user.<user>.<verb>", verbs
/// below. Under roles only that user may publish there (NATS permissions), so the subject tells
/// the registry who sent the request, which a reply subject or a body cannot (docs/SECURITY.md).
inline constexpr std::string_view kUserSubjectPrefix = "polaris.registry.user.";
/// Bodies as on polaris.registry.register, polaris:tool:unregister, polaris:tool:keepalive,
/// polaris.registry.agent.leave and polaris.agent.heartbeat.
inline constexpr std::string_view kUserRegisterVerb = "register";
inline constexpr std::string_view kUserUnregisterVerb = "unregister";
inline constexpr std::string_view kUserKeepaliveVerb = "keepalive";
inline constexpr std::string_view kUserLeaveVerb = "leave";
inline constexpr std::string_view kUserHeartbeatVerb = "heartbeat";
/// Registry nodes among themselves.
inline constexpr std::string_view kSyncEventSubject = "polaris.registry.sync.event";
inline constexpr std::string_view kSyncSnapshotSubject = "polaris.registry.sync.snapshot";
/// A page of one named node's catalogue, {"node": "<id>", "after": "<name>"}: every node hears
/// it (no queue group) and only that node answers, like kSyncSnapshotSubject.
inline constexpr std::string_view kSyncPullSubject = "polaris.registry.sync.pull";
/// Where a node's peers confirm they applied its replication events: the event's reply subject
/// is <prefix><node's unique token>.<write id>, answered {"node": "<id>"}.
inline constexpr std::string_view kSyncAppliedPrefix = "polaris.registry.sync.applied.";
inline constexpr std::string_view kNodeHeartbeatSubject = "polaris.registry.node.heartbeat";
/// A node that has just synced introduces itself: a heartbeat body as a request, answered by
/// every node (no queue group) with its own heartbeat body.
inline constexpr std::string_view kNodeHelloSubject = "polaris.registry.node.hello";
/// The queue group of every polaris registry node: one node answers each request.
inline constexpr const char* kRegistryQueue = "polaris-registry";

/// polaris extension headers (reference peers ignore headers).
/// On a call: the caller's timeout in milliseconds, relative because clocks differ.
inline constexpr const char* kTimeoutHeader = "Polaris-Timeout";
/// On a call: a subject where the agent may publish progress notifications. polaris callers
/// name the call's own reply subject, which the agent may answer even under NATS permissions
/// (allow_responses); each notification there carries Polaris-Status: progress.
inline constexpr const char* kProgressHeader = "Polaris-Progress";
/// On a call: the names of the LLM agents the call has passed through, comma-separated, the
/// first caller's first (docs/PROTOCOL.md, "LLM agents").
inline constexpr const char* kChainHeader = "Polaris-Chain";
/// On a reply: "busy" when the agent refused the call because the tool's pool is full.
inline constexpr const char* kStatusHeader = "Polaris-Status";
inline constexpr std::string_view kBusyStatus = "busy";
/// Polaris-Status of a progress or log notification: more messages follow on the subject.
inline constexpr std::string_view kProgressStatus = "progress";

/// The names of a Polaris-Chain header (empty names dropped; at most 64, so that a caller cannot
/// make an agent hold an arbitrarily long list).
inline std::vector<std::string> parse_chain(std::string_view header) {
  std::vector<std::string> names;
  while (!header.empty() && names.size() < 64) {
    const auto comma = header.find(',');
    const std::string_view name = header.substr(0, comma);
    if (!name.empty()) names.emplace_back(name);
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return names;
}

/// The Polaris-Chain header value of `names`.
inline std::string format_chain(const std::vector<std::string>& names) {
  std::string value;
  for (const auto& name : names) value += (value.empty() ? "" : ",") + name;
  return value;
}

// High availability (docs/PROTOCOL.md, "High availability (polaris extensions)").
/// The queue group of tool subscriptions: replicas share calls, each call runs once.
inline constexpr const char* kToolQueueGroup = "polaris";
inline constexpr const char* kCallIdHeader = "Polaris-Call-Id";
inline constexpr const char* kAttemptHeader = "Polaris-Attempt";
inline constexpr const char* kAgentHeader = "Polaris-Agent";
inline constexpr const char* kIdempotentHeader = "Polaris-Idempotent";
/// Polaris-Status of an acknowledgement: the agent took the call.
inline constexpr std::string_view kAcceptedStatus = "accepted";

/// The key of a failed call's reply: {"_error": "<message>"}.
inline constexpr std::string_view kErrorKey = "_error";
/// ADR-32 ("NATS micro") headers of an error reply, so that NATS service tooling sees a failed
/// call as one: the description (the `_error` message) and a status-like code.
inline constexpr const char* kServiceErrorHeader = "Nats-Service-Error";
inline constexpr const char* kServiceErrorCodeHeader = "Nats-Service-Error-Code";

inline std::string tool_subject(std::string_view tool_name) {
  return std::string(kToolSubjectPrefix) + std::string(tool_name);
}

/// Every subject of one agent: "polaris.agent.<id>." + "call.<tool>", "resync" or "revoked".
inline std::string agent_subject_prefix(std::string_view agent_id) {
  return "polaris.agent." + std::string(agent_id) + ".";
}

/// "polaris.agent.<id>.<verb>": what the registry tells one agent ("resync", "revoked").
inline std::string agent_subject(std::string_view agent_id, std::string_view verb) {
  return agent_subject_prefix(agent_id) + std::string(verb);
}

/// "polaris.registry.user.<user>.<verb>" (kUserSubjectPrefix); `user` may be "*" for a pattern.
inline std::string user_subject(std::string_view user, std::string_view verb) {
  return std::string(kUserSubjectPrefix) + std::string(user) + "." + std::string(verb);
}

/// The user of a "polaris.registry.user.<user>.<verb>" subject; empty for any other subject.
inline std::string_view user_of_subject(std::string_view subject) {
  if (!subject.starts_with(kUserSubjectPrefix)) return {};
  subject.remove_prefix(kUserSubjectPrefix.size());
  const auto dot = subject.find('.');
  return dot == std::string_view::npos ? std::string_view() : subject.substr(0, dot);
}

/// The direct subject of one agent's tool (where retries go back to the agent that took a call).
inline std::string direct_subject(std::string_view agent_id, std::string_view tool_name) {
  return agent_subject_prefix(agent_id) + "call." + std::string(tool_name);
}

/// The registry's reply to register/unregister/keepalive: {"success": bool, "msg": string}.
inline Json status_reply(bool success, std::string_view message) {
  return Json{{"success", success}, {"msg", message}};
}

/// A failed call's reply.
inline Json error_reply(std::string_view message) { return Json{{kErrorKey, message}}; }

/// A polaris connection's NATS connection name ends with this marker and its agent id, so that
/// a registry can tell from nats-server's connect and disconnect events whose connection it was.
inline constexpr std::string_view kAgentNameMarker = " polaris-agent:";

/// `name` with the agent id appended (see kAgentNameMarker).
inline std::string agent_connection_name(std::string_view name, std::string_view agent_id) {
  return std::string(name) + std::string(kAgentNameMarker) + std::string(agent_id);
}

/// The agent id a connection name carries (the text after the last marker), or empty when it
/// carries none or one that is not an agent id ([A-Za-z0-9._-], as agent_subject needs).
inline std::string agent_of_connection_name(std::string_view name) {
  const auto at = name.rfind(kAgentNameMarker);
  if (at == std::string_view::npos) return {};
  const std::string_view id = name.substr(at + kAgentNameMarker.size());
  if (id.empty() || id.size() > 256) return {};
  for (const char c : id) {
    if (!names::is_name_char(c) && c != '.') return {};
  }
  return std::string(id);
}

}  // namespace polaris::wire
