// Internal: the web console's HTTP server: the page (assets.hpp) and its JSON API over a Backend.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "console/backend.hpp"
#include "polaris/logging.hpp"

namespace polaris::console {

struct ServerOptions {
  /// Required `Authorization: Bearer <token>` on /api/ requests; empty: none. The page itself
  /// holds no data and is served to anyone who passes the Host and Origin checks.
  std::string bearer_token{};
  /// Extra Host header values and Origins accepted. Bound to a loopback address, only localhost
  /// names are accepted besides these; bound elsewhere, any Host is accepted when allowed_hosts
  /// is empty. An Origin must always name the server itself (its Host) or be listed here.
  std::vector<std::string> allowed_hosts{};
  std::vector<std::string> allowed_origins{};
  /// Refuse tool calls (POST /api/call answers 403; the page hides Try it).
  bool read_only = false;
  Logger logger{};  ///< empty: spdlog's default logger
};

/// Serves the console on host:port until destroyed or close(). One thread per HTTP connection
/// (libmicrohttpd), so a long call's event stream never holds up the other requests.
///
/// Thread safety: every method may be called from any thread.
class Server {
 public:
  /// The backend must outlive the Server.
  Server(Backend& backend, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Starts serving on host (an IPv4 address or "localhost"):port (0: any free port).
  /// @throws Error(Errc::invalid_argument) when the address cannot be bound.
  void listen(const std::string& host, int port);
  /// The port listen() bound; 0 before.
  [[nodiscard]] int port() const;
  /// Ends the event streams and stops serving. Idempotent.
  void close();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace polaris::console
