// Internal: what a registry node asks of its security settings. The registry holds an Authorizer
// whatever its configuration: the permissive default when it has none, RegistrySecurity when it
// has one, so that no handler branches on whether security is configured.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/nats_config_extras.hpp"
#include "polaris/connection.hpp"
#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "polaris/security.hpp"

namespace polaris::detail {

/// Who sent a registry request: the user its subject names (polaris.registry.user.<user>.<verb>,
/// which under roles only that user may publish to), else, on the shared subjects, the user whose
/// inbox the reply subject is in (only admins may publish there under roles).
struct Requester {
  const char* reply = nullptr;
  std::string_view subject_user;  ///< empty on the shared subjects
};

/// The settings and checks of a registry node's security. This base class is the permissive
/// default (no security configuration): no authorization or TLS blocks, no credentials, every
/// check allows, and nothing to reload.
///
/// Thread safety: all methods may be called from any thread (implementations keep that).
class Authorizer {
 public:
  /// Which tool names a requester may see; empty: every tool.
  using Visible = std::function<bool(const std::string&)>;

  Authorizer() = default;
  virtual ~Authorizer() = default;
  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;

  /// The authorization and TLS blocks for the nats-server the registry launches.
  [[nodiscard]] virtual NatsConfigExtras nats_config() const { return {}; }
  /// Adds credentials and TLS to the registry's own connection (`attach`: it connects to existing
  /// servers rather than to the one it launched on `bind_host`).
  virtual void apply_to(ConnectOptions& /*options*/, bool /*attach*/,
                        const std::string& /*bind_host*/) const {}
  /// Whether reload() can re-read a file (SIGHUP then reloads rather than stops).
  [[nodiscard]] virtual bool reloadable() const { return false; }
  /// Re-reads the configuration and hands the new nats-server blocks to `apply`.
  /// @throws Error(Errc::invalid_argument) when there is nothing to reload or it is refused.
  virtual void reload(const std::function<void(const NatsConfigExtras&)>& apply);

  /// The tools the requester whose reply subject is `reply` (may be null) may see.
  [[nodiscard]] virtual Visible list_filter(const char* /*reply*/) const { return {}; }
  /// Why the requester may not register (or unregister) `declaration`, or nullopt when it may.
  [[nodiscard]] virtual std::optional<std::string> refuse_register(
      const Requester& /*requester*/, const Json& /*declaration*/,
      std::string_view /*operation*/) const {
    return std::nullopt;
  }
  /// Why the requester may not withdraw every tool of `agent_id`, or nullopt when it may.
  [[nodiscard]] virtual std::optional<std::string> refuse_leave(
      const Requester& /*requester*/, std::string_view /*agent_id*/) const {
    return std::nullopt;
  }
  /// Why a request on user `user`'s own subjects may not be answered on `reply`, or nullopt.
  [[nodiscard]] virtual std::optional<std::string> refuse_reply(
      std::string_view /*user*/, const char* /*reply*/, std::string_view /*operation*/) const {
    return std::nullopt;
  }
  /// Removes from a keepalive array the declarations the requester may not register; returns
  /// the refusal messages.
  virtual std::vector<std::string> filter_keepalive(const Requester& /*requester*/,
                                                    Json& /*declarations*/) const {
    return {};
  }
};

/// The Authorizer for a registry's configuration: RegistrySecurity for `config`, else the
/// permissive default.
/// @throws Error(Errc::invalid_argument) for an invalid configuration.
std::unique_ptr<Authorizer> make_authorizer(const std::optional<SecurityConfig>& config,
                                            const Logger& log);

}  // namespace polaris::detail
