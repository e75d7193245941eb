// Internal: natsOptions from polaris options.
#pragma once

#include <nats/nats.h>

#include "polaris/connection.hpp"
#include "transport/nats_handles.hpp"

namespace polaris::detail {

/// Connection event callbacks, all invoked on nats.c's connection-events thread with `closure`.
struct NatsEventHandlers {
  natsConnectionHandler disconnected = nullptr;
  natsConnectionHandler reconnected = nullptr;
  natsConnectionHandler closed = nullptr;
  natsErrHandler error = nullptr;
  void* closure = nullptr;
};

/// The servers of a ConnectOptions that names none: $POLARIS_SERVERS (comma-separated), else
/// nats://127.0.0.1:4222.
std::vector<std::string> default_servers();

/// Builds nats.c options applying every ConnectOptions field (servers, name, auth, TLS,
/// timeouts, reconnect policy, randomisation, echo) plus low-latency sends.
/// @throws Error(Errc::invalid_argument) for unusable options (e.g. unreadable TLS files).
/// `agent_id` (when not empty) is appended to the connection name (wire::agent_connection_name).
NatsOptionsPtr make_nats_options(const ConnectOptions& options, const NatsEventHandlers& handlers,
                                 std::string_view agent_id = {});

/// The prefix of the connection's reply subjects (see ConnectOptions::inbox_prefix).
std::string inbox_prefix_of(const ConnectOptions& options);
/// The namespace of the connection's agent id: the user name when it can be a subject token
/// (agent ids are then "<user>.<random>", so that roles can give each user the subjects
/// polaris.agent.<user>.> and nobody else's), else empty.
std::string agent_namespace_of(const ConnectOptions& options);

/// Connects with `options`. @throws Error(Errc::connection_failed) naming the servers tried.
NatsConnectionPtr connect_nats(natsOptions* options, const std::vector<std::string>& servers);

}  // namespace polaris::detail
