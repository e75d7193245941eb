// Internal: checking a registry's options, and the settings derived from them.
#pragma once

#include <chrono>
#include <optional>

#include "polaris/registry.hpp"
#include "registry/nats_server.hpp"

namespace polaris::detail {

/// @throws Error(Errc::invalid_argument) naming the first option that is out of range or that
/// cannot take effect (e.g. routes without a cluster name).
void validate_registry_options(const RegistryOptions& options);

/// How often the catalogue is swept for silent agents and lapsed keepalives.
std::chrono::milliseconds sweep_interval_of(const RegistryOptions& options);

/// The system account of the launched nats-server: none in attach mode, and none with token
/// auth, which nats-server cannot combine with accounts.
std::optional<SystemAccount> system_account_for(const RegistryOptions& options);

}  // namespace polaris::detail
