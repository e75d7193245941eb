// Internal: the registry's connection to the system account of its nats-server.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/connection.hpp"
#include "polaris/json.hpp"
#include "transport/nats_handles.hpp"

namespace polaris::detail {

/// A connection as the system account's user (see SystemAccount): nats-server's events
/// ($SYS.ACCOUNT.<account>.CONNECT / .DISCONNECT) and its monitoring data through requests
/// ($SYS.REQ.SERVER.<id>.<KIND> for one server, $SYS.REQ.SERVER.PING.<KIND> for every server of
/// the cluster), without the HTTP monitoring port, which anyone on the host could read.
///
/// Thread safety: all methods may be called from any thread (nats.c connections are).
class SystemClient {
 public:
  /// Connects with `options` (servers, the system user's credentials, TLS).
  /// @throws Error(Errc::connection_failed) when it cannot.
  explicit SystemClient(const ConnectOptions& options);
  ~SystemClient();
  SystemClient(const SystemClient&) = delete;
  SystemClient& operator=(const SystemClient&) = delete;

  [[nodiscard]] natsConnection* get() const noexcept { return connection_.get(); }
  /// The id of the nats-server this connection is connected to (the registry's own).
  [[nodiscard]] std::string server_id() const;
  /// The "data" of one server's answer to $SYS.REQ.SERVER.<server_id>.<kind>, e.g. kind "VARZ"
  /// or "ROUTEZ".
  /// @throws Error(Errc::timeout) when it does not answer, Error(Errc::protocol) when it answers
  ///         an error or something that is not a server API response.
  [[nodiscard]] Json server_request(const std::string& server_id, std::string_view kind,
                                    std::chrono::milliseconds timeout) const;
  /// Every server's answer to $SYS.REQ.SERVER.PING.<kind>: objects {"server": {"id", "name",
  /// ...}, "data": {...}}, gathered until none has come for `quiet`.
  [[nodiscard]] std::vector<Json> ping(std::string_view kind, std::chrono::milliseconds timeout,
                                       std::chrono::milliseconds quiet) const;
  /// Closes the connection (idempotent).
  void close();

 private:
  NatsConnectionPtr connection_;
};

}  // namespace polaris::detail
