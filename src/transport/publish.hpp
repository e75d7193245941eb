// Internal: sending on a nats.c connection, and what the client asks of the connection itself.
// Everything above transport/ publishes through these instead of calling nats.c.
#pragma once

#include <nats/nats.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polaris::detail {

/// Headers sent with a message: (name, value) pairs, in order.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// Publishes `body` on `subject`, with reply subject `reply` (none when empty) and `headers`.
/// Never throws: the status says how it went (NATS_OK once nats.c has it).
natsStatus publish(natsConnection* connection, const std::string& subject, const std::string& reply,
                   std::string_view body, const Headers& headers = {});

/// Publishes a copy of `msg` (subject, reply subject, body, every header value) again: a call
/// handed on to another replica.
natsStatus republish(natsConnection* connection, natsMsg* msg);

/// A publish that failed because the connection is going or gone (not because of the message).
bool lost_with_connection(natsStatus status) noexcept;

/// nats.c's text for `status`.
inline const char* status_text(natsStatus status) noexcept { return natsStatus_GetText(status); }

/// Whether the connection is connected now (not reconnecting, draining or closed).
inline bool is_connected(natsConnection* connection) noexcept {
  return natsConnection_Status(connection) == NATS_CONN_STATUS_CONNECTED;
}
/// Whether nats.c gave the connection up (closed by us, or out of reconnect attempts).
inline bool is_closed(natsConnection* connection) noexcept {
  return natsConnection_IsClosed(connection);
}
/// The server's max payload in bytes.
inline std::int64_t max_payload(natsConnection* connection) noexcept {
  return natsConnection_GetMaxPayload(connection);
}
/// The URL of the server the connection is connected to; empty when none.
std::string connected_url(natsConnection* connection);
/// Closes the connection; nats.c then reports it closed on its events thread.
inline void close_connection(natsConnection* connection) noexcept {
  natsConnection_Close(connection);
}

/// "<prefix>.<unique token>": a fresh inbox below `prefix`. @throws Error when nats.c cannot.
std::string new_inbox(const std::string& prefix);

}  // namespace polaris::detail
