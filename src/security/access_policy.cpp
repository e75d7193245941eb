#include "security/access_policy.hpp"

namespace polaris::detail {

AccessPolicy::AccessPolicy(const SecurityConfig& config) {
  for (const auto& user : config.users) {
    Grant grant{.role = user.role};
    grant.any_tool = user.tools.size() == 1 && user.tools.front() == "*";
    if (!grant.any_tool) grant.tools.insert(user.tools.begin(), user.tools.end());
    grant.calls.insert(user.calls.begin(), user.calls.end());
    grants_.emplace(user.name, std::move(grant));
  }
}

std::optional<std::string> AccessPolicy::user_of_reply(std::string_view reply_subject) const {
  constexpr std::string_view kInbox = "_INBOX.";
  if (!reply_subject.starts_with(kInbox)) return std::nullopt;
  reply_subject.remove_prefix(kInbox.size());
  const auto dot = reply_subject.find('.');
  // "_INBOX.<user>" alone is not an inbox below the prefix: a reply needs more tokens.
  if (dot == std::string_view::npos || dot + 1 >= reply_subject.size()) return std::nullopt;
  const std::string_view user = reply_subject.substr(0, dot);
  if (!grants_.contains(user)) return std::nullopt;
  return std::string(user);
}

const AccessPolicy::Grant* AccessPolicy::grant_of(const std::optional<std::string>& user) const {
  if (!user) return nullptr;
  auto it = grants_.find(*user);
  return it == grants_.end() ? nullptr : &it->second;
}

bool AccessPolicy::may_list(const std::optional<std::string>& user, std::string_view tool) const {
  const Grant* grant = grant_of(user);
  if (grant == nullptr) return false;
  if (grant->role == Role::admin || grant->any_tool) return true;
  // An agent lists the tools it serves and those it may call (registers only the former).
  return grant->tools.contains(tool) || grant->calls.contains(tool);
}

bool AccessPolicy::may_register(const std::optional<std::string>& user,
                                std::string_view tool) const {
  const Grant* grant = grant_of(user);
  if (grant == nullptr || grant->role == Role::caller) return false;
  if (grant->role == Role::admin || grant->any_tool) return true;
  return grant->tools.contains(tool);
}

bool AccessPolicy::may_act_for_agent(const std::optional<std::string>& user,
                                     std::string_view agent_id) const {
  const Grant* grant = grant_of(user);
  if (grant == nullptr || grant->role == Role::caller) return false;
  if (grant->role == Role::admin) return true;
  return is_agent_of(agent_id, *user);
}

bool is_agent_of(std::string_view agent_id, std::string_view user) {
  return !user.empty() && agent_id.size() > user.size() + 1 && agent_id.starts_with(user) &&
         agent_id[user.size()] == '.';
}

}  // namespace polaris::detail
