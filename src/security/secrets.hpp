// Internal: random secrets (the registry's own nats-server user).
#pragma once

#include <cstddef>
#include <string>

namespace polaris::detail {

/// `bytes` random bytes from the operating system, as lower-case hex.
/// @throws Error(Errc::internal) when the system has no randomness to give.
std::string random_secret(std::size_t bytes);

}  // namespace polaris::detail
