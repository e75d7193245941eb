// Internal: a registry node's security at run time: the nats-server configuration, the
// registry's own credentials, the access checks of the request handlers, and reloading.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/connection.hpp"
#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "polaris/security.hpp"
#include "security/access_policy.hpp"
#include "security/authorizer.hpp"
#include "security/nats_auth.hpp"

namespace polaris::detail {

/// Throws Error(invalid_argument) when going from `running` to `fresh` cannot be done by a
/// reload: a change between token, users and no authentication, a new token, or TLS turned on
/// or off on the client or cluster port. Users, passwords, roles, allow-lists and certificate
/// files may change.
void refuse_restart_only_changes(const SecurityConfig& running, const SecurityConfig& fresh);

/// The Authorizer of a registry with a security configuration. The checks allow everything
/// while roles are off.
///
/// Thread safety: all methods may be called from any thread; reload() swaps the configuration
/// atomically for the checks that follow it.
class RegistrySecurity final : public Authorizer {
 public:
  RegistrySecurity(SecurityConfig config, Logger log);

  /// The authorization and TLS blocks for the nats-server this registry launches.
  [[nodiscard]] NatsConfigExtras nats_config() const override;
  /// Adds credentials and TLS to the registry's own connection: the internal user (or the token)
  /// and the client-port TLS when it launches its nats-server; SecurityConfig::attach when it
  /// attaches to existing servers.
  void apply_to(ConnectOptions& options, bool attach, const std::string& bind_host) const override;
  /// True when the configuration was read from a file.
  [[nodiscard]] bool reloadable() const override;

  /// Re-reads SecurityConfig::source_file, makes the new checks apply, and hands the new
  /// nats-server configuration to `apply` (e.g. NatsServer::reload). Concurrent reloads run one
  /// after the other, so the last file read is also the last configuration applied.
  /// @throws Error(Errc::invalid_argument) when there is no file, it is invalid, or it changes
  ///         what only a restart can (refuse_restart_only_changes); the old configuration stays.
  void reload(const std::function<void(const NatsConfigExtras&)>& apply) override;

  /// The list answer for the requester whose reply subject is `reply` (may be null): `tools`
  /// (a JSON array of declarations) without the tools it may not see.
  [[nodiscard]] Json filter_list(const char* reply, Json tools) const;
  /// Which tool names the requester whose reply subject is `reply` may see; empty when it may
  /// see every tool (roles off, or an admin).
  [[nodiscard]] Visible list_filter(const char* reply) const override;
  /// Why the requester may not register (or unregister) `declaration`, or nullopt when it may.
  /// Declarations without a string name are left to the catalogue's own checks.
  [[nodiscard]] std::optional<std::string> refuse_register(
      const Requester& requester, const Json& declaration,
      std::string_view operation) const override;
  /// Why the requester may not withdraw every tool of `agent_id` (polaris.registry.agent.leave),
  /// or nullopt when it may.
  [[nodiscard]] std::optional<std::string> refuse_leave(const Requester& requester,
                                                        std::string_view agent_id) const override;
  /// Why a request on user `user`'s own subjects may not be answered on `reply`: with roles on,
  /// a reply subject outside "_INBOX.<user>." (someone else's inbox). nullopt when it may.
  [[nodiscard]] std::optional<std::string> refuse_reply(std::string_view user, const char* reply,
                                                        std::string_view operation) const override;
  /// Removes from a keepalive array the declarations the requester may not register; returns
  /// the refusal messages.
  std::vector<std::string> filter_keepalive(const Requester& requester,
                                            Json& declarations) const override;

 private:
  [[nodiscard]] std::shared_ptr<const AccessPolicy> policy() const;

  Logger log_;
  InternalUser internal_;
  std::mutex reload_mutex_;  // held through a whole reload
  mutable std::mutex mutex_;
  SecurityConfig config_;                       // guarded by mutex_
  std::shared_ptr<const AccessPolicy> policy_;  // guarded by mutex_; null while roles are off
};

}  // namespace polaris::detail
