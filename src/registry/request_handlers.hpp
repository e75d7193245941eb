// Internal: a registry node's answers to agents' changes: register, unregister, keepalive,
// heartbeat and leave, on the shared subjects and on each user's own subjects
// (polaris.registry.user.<user>.<verb>, docs/SECURITY.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/json.hpp"
#include "protocol/messages.hpp"
#include "registry/catalogue.hpp"
#include "registry/claim_window.hpp"
#include "registry/node_bus.hpp"
#include "registry/node_context.hpp"
#include "registry/replication.hpp"
#include "security/authorizer.hpp"

namespace polaris::detail {

/// In each handler `user` is the user whose own subject the request came on (see
/// user_request()); empty on the shared subjects.
///
/// Thread safety: handlers may run on any thread, concurrently (the catalogue is locked).
class RequestHandlers {
 public:
  RequestHandlers(const NodeContext& node, const Authorizer& authorizer, Replication& replication,
                  ClaimWindow& window);
  RequestHandlers(const RequestHandlers&) = delete;
  RequestHandlers& operator=(const RequestHandlers&) = delete;

  /// A request on polaris.registry.user.<user>.<verb> speaks for `user`: its user, or nullopt
  /// when it must not be answered (with roles, a reply subject outside the user's inbox: the
  /// answer would go to someone else; logged).
  [[nodiscard]] std::optional<std::string> user_request(const Inbound& message,
                                                        std::string_view operation) const;

  void on_register(const Inbound& message);  ///< the reference subject: one declaration
  void on_batch_register(const Inbound& message, std::string_view user);
  void on_unregister(const Inbound& message, std::string_view user);
  void on_keepalive(const Inbound& message, std::string_view user);
  void on_agent_heartbeat(const Inbound& message, std::string_view user);
  void on_agent_leave(const Inbound& message, std::string_view user);

 private:
  std::optional<Json> parse(const Inbound& message, std::string_view operation);
  void refuse_with(const Inbound& message, const std::string& why);
  std::vector<Claim> stamp_claims(const Json& declarations, std::string& problems);
  void register_claims(const Inbound& message, std::vector<Claim> claims, bool batch,
                       std::vector<std::optional<wire::RegisterResult>> results = {});
  [[nodiscard]] std::optional<std::string> refuse(const Inbound& message, std::string_view user,
                                                  const Json& declaration,
                                                  std::string_view operation) const;
  [[nodiscard]] std::optional<std::string> refuse_agent(std::string_view user,
                                                        std::string_view agent,
                                                        std::string_view operation) const;
  [[nodiscard]] std::optional<std::string> refuse_leave(const Inbound& message,
                                                        std::string_view user,
                                                        const std::string& agent) const;

  NodeContext node_;
  const Authorizer& authorizer_;
  Replication& replication_;
  ClaimWindow& window_;
};

}  // namespace polaris::detail
