// Internal: random secrets (the registry's own nats-server user).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace polaris::detail {

/// `bytes` random bytes from the operating system, as lower-case hex.
/// @throws Error(Errc::internal) when the system has no randomness to give.
std::string random_secret(std::size_t bytes);

/// bcrypt's lowest cost: for random_secret()s, which no number of guesses finds, so that
/// nats-server's check of each connection costs next to nothing (see kPasswordHashCost).
inline constexpr int kSecretHashCost = 4;

/// A bcrypt hash ("$2b$") of `password` at `cost` (4 to 31).
/// @throws Error(Errc::invalid_argument) for an empty password.
std::string bcrypt_hash(std::string_view password, int cost);

}  // namespace polaris::detail
