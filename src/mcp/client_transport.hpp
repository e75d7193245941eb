// mcp/client_transport.hpp - how an MCP client reaches its server: stdio, Streamable HTTP,
// HTTP+SSE.
//
// Internal.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "polaris/mcp.hpp"

namespace polaris::mcp::detail {

/// One JSON-RPC message channel to a server.
///
/// on_message receives each message with the id of the request whose own response stream
/// carried it (Streamable HTTP: the SSE stream or JSON body of that request's POST, or its
/// resumption), else null (stdio, HTTP+SSE and the Streamable HTTP GET stream cannot tell): so a
/// server's log message sent during a call can reach that call's caller.
///
/// Thread safety: send() may be called from any thread at once, also from inside on_message.
/// on_message and on_closed run on transport threads (on_message may run on several at once for
/// HTTP, one per open stream).
class ClientTransport {
 public:
  using OnMessage = std::function<void(const Json& message, const Json& request_id)>;
  /// `why`: Errc::connection_lost when the server went away, payload_too_large when it sent a
  /// message over the limit; pending requests fail with it.
  using OnClosed = std::function<void(const Error& why)>;
  virtual ~ClientTransport() = default;

  /// Starts receiving (launches a stdio server, opens the SSE stream).
  /// @throws Error(Errc::connection_failed)
  virtual void start(OnMessage on_message, OnClosed on_closed) = 0;
  /// Sends one message. For HTTP, replies carried by the response are delivered to on_message
  /// before send() returns. `cancelled` is polled while a transfer runs; true abandons it.
  /// @throws Error(Errc::connection_failed / connection_lost / protocol)
  virtual void send(const Json& message, const std::function<bool()>& cancelled) = 0;
  /// Called once initialize succeeded with the negotiated version.
  virtual void initialized(const std::string& protocol_version) { (void)protocol_version; }
  /// Stops everything; idempotent; never throws.
  virtual void close() noexcept = 0;
};

/// Makes the transport of a Client instead of the real ones (tests and fuzz targets: a fake
/// server in the same process). Set it before creating clients; empty: the real transports.
using TransportFactory = std::function<std::unique_ptr<ClientTransport>(const ServerAddress&)>;
void set_transport_factory_for_testing(TransportFactory factory);

/// What every transport is made with, from the client's options.
struct TransportSettings {
  std::chrono::milliseconds connect_timeout{15000};
  /// ClientOptions::max_message_size: the longest line, SSE event or JSON body read.
  std::size_t max_message_size = 0;
  Logger log;
};

std::unique_ptr<ClientTransport> make_stdio_transport(const ServerAddress& address,
                                                      TransportSettings settings);
std::unique_ptr<ClientTransport> make_streamable_http_transport(const ServerAddress& address,
                                                                TransportSettings settings);
std::unique_ptr<ClientTransport> make_sse_transport(const ServerAddress& address,
                                                    TransportSettings settings);

}  // namespace polaris::mcp::detail
