// Internal: configuration text that the security settings add to the nats-server configuration
// a registry node writes. A value type here, below both security/ (which renders it) and
// registry/ (which writes it into the file), so that neither has to include the other.
#pragma once

#include <string>

#include "polaris/json.hpp"

namespace polaris::detail {

/// Configuration text added by the security settings (authorization, TLS): blocks for the top
/// level and for inside the "cluster" block.
struct NatsConfigExtras {
  std::string top_level;
  std::string cluster;
  /// The users ({"user", "password", "permissions"} objects); null: none. They are rendered
  /// into the account kApplicationAccount (registry/nats_server.hpp) when there is a system
  /// account (nats-server sends no connect or disconnect events for its global account), else
  /// into "authorization".
  Json users;
};

}  // namespace polaris::detail
