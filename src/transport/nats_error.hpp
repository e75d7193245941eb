// Internal: the one translator from natsStatus to polaris::Error.
#pragma once

#include <nats/nats.h>

#include <optional>
#include <string>
#include <string_view>

#include "polaris/error.hpp"

namespace polaris::detail {

/// The Errc a nats.c status means.
Errc errc_from_nats(natsStatus status) noexcept;

/// Throws Error("<context>: <nats.c text>[: <last error detail>]").
[[noreturn]] void throw_nats_error(natsStatus status, std::string_view context);

/// Throws when `status` is not NATS_OK.
inline void check_nats(natsStatus status, std::string_view context) {
  if (status != NATS_OK) throw_nats_error(status, context);
}

/// The text of an error nats.c reports to an asynchronous error handler: inside the handler,
/// the connection's last error is that error's text; else the status's generic text.
std::string async_error_text(natsConnection* connection, natsStatus status);

/// The subject named by a server's asynchronous "Permissions Violation for Publish to
/// \"<subject>\"" error; nullopt for any other error text.
std::optional<std::string> denied_publish_subject(std::string_view server_error);

}  // namespace polaris::detail
