// Internal: the MCP server's Streamable HTTP transport on libmicrohttpd (one thread per
// connection, so every SSE stream has its own thread and a long stream never starves other
// requests); tools/call runs on a bounded pool and answers on an SSE stream.
#pragma once

#include <microhttpd.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "client/worker_pool.hpp"
#include "mcp/server_core.hpp"
#include "mcp/server_session.hpp"
#include "polaris/logging.hpp"
#include "polaris/mcp.hpp"

namespace polaris::mcp::detail {

/// Thread safety: MHD calls the handlers on its connection threads; listen() and close() are
/// called by the owner.
class HttpServer {
 public:
  HttpServer(Dispatcher& dispatcher, const ServerOptions& options, Logger log);
  ~HttpServer() { close(); }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Listens on `host` (an IPv4 address or "localhost") and `port` (0: any free port).
  /// @throws Error(Errc::invalid_argument) when it cannot.
  void listen(const std::string& host, int port);
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] SessionTable& sessions() { return sessions_; }
  /// Ends every stream, stops listening, and waits for the calls in progress. Idempotent.
  void close() noexcept;

 private:
  struct HttpRequest {
    std::string body;
    bool too_large = false;
  };
  struct DaemonDeleter {
    void operator()(MHD_Daemon* daemon) const noexcept { MHD_stop_daemon(daemon); }
  };

  static MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url,
                               const char* method, const char* version, const char* upload_data,
                               size_t* upload_data_size, void** con_cls);
  static void on_completed(void* cls, MHD_Connection* connection, void** con_cls,
                           MHD_RequestTerminationCode code);

  [[nodiscard]] bool host_allowed(const std::string& host_header) const;
  [[nodiscard]] bool origin_allowed(const std::string& origin) const;
  /// Why the request must be refused before its method is looked at (an error response), or
  /// MHD_YES with nothing sent when it may go on.
  std::optional<MHD_Result> refuse(MHD_Connection* connection, const std::string& url);
  MHD_Result route(MHD_Connection* connection, const std::string& url, const std::string& method,
                   const HttpRequest& request);
  MHD_Result post(MHD_Connection* connection, const HttpRequest& request);
  MHD_Result post_initialize(MHD_Connection* connection, const Json& message);
  MHD_Result post_tool_call(MHD_Connection* connection, const Json& message,
                            const std::shared_ptr<Session>& session);
  MHD_Result get(MHD_Connection* connection);
  std::optional<MHD_Result> resume(MHD_Connection* connection,
                                   const std::shared_ptr<Session>& session,
                                   const std::string& last_event_id);
  MHD_Result remove_session(MHD_Connection* connection);

  Dispatcher& dispatcher_;
  const ServerOptions& options_;
  Logger log_;
  SessionTable sessions_;
  std::atomic<bool> closing_{false};
  std::unique_ptr<MHD_Daemon, DaemonDeleter> daemon_;
  int port_ = 0;
  bool loopback_ = true;
  /// tools/call requests (other methods answer on MHD's connection thread).
  polaris::detail::WorkerPool workers_;
};

}  // namespace polaris::mcp::detail
