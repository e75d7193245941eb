// Internal: the wire messages of docs/PROTOCOL.md that clients, agents and registries exchange, as
// types. Each has to_json() (what polaris sends) and a static from_json() that reads leniently
// through protocol/fields.hpp: nullopt when a required field is missing or has another type,
// defaults for optional fields, never an exception.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "polaris/json.hpp"
#include "protocol/fields.hpp"
#include "protocol/wire.hpp"

namespace polaris::wire {

/// The registry's answer to a write: {"success": bool, "msg": string} (register, unregister,
/// keepalive, leave; docs/PROTOCOL.md, "Registration semantics").
struct StatusReply {
  bool success = false;
  /// The registry's message; "refused" for a refusal that names no reason.
  std::string msg{};

  [[nodiscard]] Json to_json() const { return status_reply(success, msg); }
  /// nullopt unless an object with a boolean "success".
  static std::optional<StatusReply> from_json(const Json& json) {
    const auto success = bool_field(json, "success");
    if (!success) return std::nullopt;
    return StatusReply{*success, string_or(json, "msg", *success ? "" : "refused")};
  }
};

/// One tool's result in a batch registration's reply: {"name", "success", "msg"}.
struct RegisterResult {
  std::string name{};
  StatusReply status{};

  [[nodiscard]] Json to_json() const {
    return Json{{"name", name}, {"success", status.success}, {"msg", status.msg}};
  }
  static std::optional<RegisterResult> from_json(const Json& json) {
    auto name = string_field(json, "name");
    auto status = StatusReply::from_json(json);
    if (!name || !status) return std::nullopt;
    return RegisterResult{std::move(*name), std::move(*status)};
  }
};

/// The reply on polaris.registry.register: a StatusReply for the whole batch plus one result per
/// tool ("results"; results that cannot be read are skipped).
struct BatchRegisterReply {
  StatusReply overall{};
  std::vector<RegisterResult> results{};

  [[nodiscard]] Json to_json() const {
    Json json = overall.to_json();
    json["results"] = Json::array();
    for (const auto& result : results) json["results"].push_back(result.to_json());
    return json;
  }
  /// nullopt when the batch's or a named result's "success" is not a boolean; results without a
  /// name are skipped.
  static std::optional<BatchRegisterReply> from_json(const Json& json) {
    auto overall = StatusReply::from_json(json);
    if (!overall) return std::nullopt;
    BatchRegisterReply reply{std::move(*overall), {}};
    const Json& results = field(json, "results");
    if (!results.is_array()) return reply;
    for (const auto& item : results) {
      if (!string_field(item, "name")) continue;
      auto result = RegisterResult::from_json(item);
      if (!result) return std::nullopt;
      reply.results.push_back(std::move(*result));
    }
    return reply;
  }
};

/// A failed call's reply: {"_error": "<message>"}.
struct ErrorReply {
  std::string message{};

  [[nodiscard]] Json to_json() const { return error_reply(message); }
  /// nullopt unless an object with "_error"; a message that is not a string is kept as its JSON
  /// text (a reference peer may send any value).
  static std::optional<ErrorReply> from_json(const Json& json) {
    if (!json.is_object() || !json.contains(kErrorKey)) return std::nullopt;
    const Json& message = json[kErrorKey];
    return ErrorReply{message.is_string() ? message.get<std::string>() : message.dump()};
  }
  /// How the text of every ErrorReply polaris sends begins, so that a reply body can be told
  /// apart without parsing it.
  static const std::string& text_prefix() {
    static const std::string prefix = [] {  // immutable once built
      const std::string text = ErrorReply{}.to_json().dump();
      return text.substr(0, text.find(':') + 1);
    }();
    return prefix;
  }
};

/// The text before and after the items of a message whose only variable part is one array (the
/// batch registration, the keepalive), for detail::split_bodies: `empty` is the message with that
/// array empty, and its text is cut at the array's "[]".
inline std::pair<std::string, std::string> array_envelope(const Json& empty) {
  const std::string text = empty.dump();
  const auto at = text.find("[]");
  return {text.substr(0, at + 1), text.substr(at + 1)};
}

/// polaris.registry.register: {"tools": [declaration, ...]} (bodies split to fit the max payload).
struct BatchRegisterRequest {
  static std::pair<std::string, std::string> envelope() {
    return array_envelope(Json{{"tools", Json::array()}});
  }
};

/// polaris:tool:keepalive: [declaration, ...], the reference's array of declarations.
struct KeepaliveRequest {
  static std::pair<std::string, std::string> envelope() { return array_envelope(Json::array()); }
};

/// polaris:tool:unregister: {"name", "polaris": {"agent"}}; the agent lets a polaris registry
/// remove only this agent's ownership (replicas).
struct UnregisterRequest {
  std::string name{};
  std::string agent{};

  [[nodiscard]] Json to_json() const {
    return Json{{"name", name}, {"polaris", {{"agent", agent}}}};
  }
};

/// polaris.registry.agent.leave and polaris.agent.heartbeat ("tools": how many it serves).
struct LeaveRequest {
  std::string agent{};
  [[nodiscard]] Json to_json() const { return Json{{"agent", agent}}; }
};
struct Heartbeat {
  std::string agent{};
  std::size_t tools = 0;
  [[nodiscard]] Json to_json() const { return Json{{"agent", agent}, {"tools", tools}}; }
};

/// polaris.agent.back (and the answer to a caller's ask): an agent names the reply subjects of
/// calls whose replies may be lost (unreadable entries are skipped).
struct AgentBack {
  std::string agent{};
  std::vector<std::string> reply_subjects{};

  [[nodiscard]] Json to_json() const {
    return Json{{"agent", agent}, {"reply_subjects", reply_subjects}};
  }
  static std::optional<AgentBack> from_json(const Json& json) {
    auto agent = string_field(json, "agent");
    if (!agent) return std::nullopt;
    AgentBack back{std::move(*agent), {}};
    const Json& subjects = field(json, "reply_subjects");
    if (!subjects.is_array()) return back;
    for (const auto& subject : subjects) {
      if (subject.is_string()) back.reply_subjects.push_back(subject.get<std::string>());
    }
    return back;
  }
};

/// polaris.agent.ask: a reconnected caller asks which agents hold its calls.
struct CallerAsk {
  std::string caller{};  ///< the caller's inbox prefix

  [[nodiscard]] Json to_json() const { return Json{{"caller", caller}}; }
  static std::optional<CallerAsk> from_json(const Json& json) {
    auto caller = string_field(json, "caller");
    if (!caller) return std::nullopt;
    return CallerAsk{std::move(*caller)};
  }
};

/// polaris.registry.agent.gone: an agent's tools left the catalogue; `departed` when it left on
/// purpose (it drains its calls), not when it went silent or its connection dropped.
struct AgentGone {
  struct Tool {
    std::string name{};
    bool idempotent = false;
  };
  std::string agent{};
  std::vector<Tool> tools{};
  bool departed = false;

  [[nodiscard]] Json to_json() const {
    Json list = Json::array();
    for (const auto& tool : tools) {
      list.push_back(Json{{"name", tool.name}, {"idempotent", tool.idempotent}});
    }
    return Json{{"agent", agent}, {"tools", std::move(list)}, {"departed", departed}};
  }
  static std::optional<AgentGone> from_json(const Json& json) {
    auto agent = string_field(json, "agent");
    if (!agent) return std::nullopt;
    AgentGone gone{std::move(*agent), {}, bool_field(json, "departed").value_or(false)};
    const Json& tools = field(json, "tools");
    if (!tools.is_array()) return gone;
    for (const auto& tool : tools) {
      if (auto name = string_field(tool, "name")) {
        gone.tools.push_back({std::move(*name), bool_field(tool, "idempotent").value_or(false)});
      }
    }
    return gone;
  }
};

/// polaris.agent.<id>.revoked: the registry withdrew one of the agent's tools.
struct Revocation {
  std::string name{};
  std::string msg{};  ///< "revoked" when the registry gave no reason

  [[nodiscard]] Json to_json() const { return Json{{"name", name}, {"msg", msg}}; }
  static std::optional<Revocation> from_json(const Json& json) {
    auto name = string_field(json, "name");
    if (!name) return std::nullopt;
    return Revocation{std::move(*name), string_or(json, "msg", "revoked")};
  }
};

/// polaris.registry.list: a page of the catalogue, names after `after` (empty: from the start).
struct ListPageRequest {
  std::optional<std::int64_t> limit{};
  std::optional<std::string> after{};

  [[nodiscard]] Json to_json() const {
    Json json = Json::object();
    if (after) json["after"] = *after;
    if (limit) json["limit"] = *limit;
    return json;
  }
};

/// The answer on polaris.registry.list: {"tools": [declaration, ...], "next": "<name>"}; `next`
/// empty on the last page.
struct ListPage {
  Json tools = Json::array();
  std::string next{};

  /// nullopt unless an object with a "tools" array.
  static std::optional<ListPage> from_json(const Json& json) {
    const Json& tools = field(json, "tools");
    if (!tools.is_array()) return std::nullopt;
    return ListPage{tools, string_or(json, "next", "")};
  }
};

}  // namespace polaris::wire
