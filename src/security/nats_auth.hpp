// Internal: the authorization and TLS parts of the nats-server configuration a registry writes.
#pragma once

#include <chrono>
#include <string>

#include "common/nats_config_extras.hpp"
#include "polaris/json.hpp"
#include "polaris/security.hpp"

namespace polaris::detail {

/// The registry's own user on its nats-server: a fresh random secret per registry process, kept
/// only in memory; the configuration file holds its bcrypt hash.
struct InternalUser {
  std::string name = "_polaris_registry";
  std::string password;
  std::string password_hash;
};

/// The NATS permissions of `user` (a JSON object for the "permissions" key), or null for a user
/// who may do everything (admins). `response_window` bounds how long an agent may answer a call.
Json permissions_for(const UserConfig& user, std::chrono::seconds response_window);

/// The users (NatsConfigExtras::users), the token's "authorization" and the "tls" blocks (top
/// level) and the "tls" block of "cluster" for `config`; `internal` is the registry's own user
/// (ignored with token auth, where the registry presents the token).
NatsConfigExtras render_nats_security(const SecurityConfig& config, const InternalUser& internal);

}  // namespace polaris::detail
