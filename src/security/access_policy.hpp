// Internal: who may list and register which tools, decided from a request's reply subject.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "polaris/security.hpp"

namespace polaris::detail {

/// Whether `agent_id` is one of `user`'s agents: "<user>.<something>" (agent ids of connections
/// with a user name, see agent_namespace_of).
[[nodiscard]] bool is_agent_of(std::string_view agent_id, std::string_view user);

/// The registry's side of the roles (the NATS permissions are the other side): with roles on,
/// every user's replies arrive below its own inbox prefix "_INBOX.<user>.", which only that user
/// may subscribe to, so the reply subject of a request names who asks. A requester who puts
/// someone else's inbox as the reply subject is treated as that user, but the answer then goes
/// to that user's inbox, which the requester cannot read (docs/SECURITY.md, limits).
///
/// Thread safety: immutable after construction; share it freely.
class AccessPolicy {
 public:
  /// `config` must have roles on (SecurityConfig::roles()).
  explicit AccessPolicy(const SecurityConfig& config);

  /// The user whose inbox `reply_subject` is in; nullopt when it is no known user's inbox.
  [[nodiscard]] std::optional<std::string> user_of_reply(std::string_view reply_subject) const;
  /// Whether a list answer for `user` shows `tool`: admins see every tool, callers the tools of
  /// their list, agents those of their lists (tools and calls), unknown requesters none.
  [[nodiscard]] bool may_list(const std::optional<std::string>& user, std::string_view tool) const;
  /// Whether `user` may register (keep alive, unregister) `tool`: admins any, agents those of
  /// their list, callers and unknown requesters none.
  [[nodiscard]] bool may_register(const std::optional<std::string>& user,
                                  std::string_view tool) const;
  /// Whether `user` may speak for the agent `agent_id` (withdraw all its tools at once): admins
  /// for any agent, agents for their own ("<user>.<random>", see agent_namespace_of).
  [[nodiscard]] bool may_act_for_agent(const std::optional<std::string>& user,
                                       std::string_view agent_id) const;

 private:
  struct Grant {
    Role role = Role::caller;
    bool any_tool = false;
    std::set<std::string, std::less<>> tools;
    std::set<std::string, std::less<>> calls;  // an agent's tools to call, not to serve
  };
  [[nodiscard]] const Grant* grant_of(const std::optional<std::string>& user) const;

  std::map<std::string, Grant, std::less<>> grants_;
};

}  // namespace polaris::detail
