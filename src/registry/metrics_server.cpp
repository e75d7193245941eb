#include "registry/metrics_server.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstring>

#include "polaris/error.hpp"

namespace polaris::detail {
namespace {

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

MHD_Result send(MHD_Connection* connection, unsigned status, const std::string& body,
                const char* content_type) {
  MHD_Response* response = MHD_create_response_from_buffer(
      body.size(), const_cast<char*>(body.data()),  // NOLINT: MHD copies, never writes
      MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, "Content-Type", content_type);
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(response, "Allow", "GET");
  const MHD_Result result = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return result;
}

struct Handler {
  static MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url,
                               const char* method, const char* /*version*/,
                               const char* /*upload_data*/, size_t* upload_data_size,
                               void** con_cls) {
    // The first call announces the request; answer on the second, with the body (none) read.
    if (*con_cls == nullptr) {
      *con_cls = connection;
      return MHD_YES;
    }
    *upload_data_size = 0;
    const auto& pages = *static_cast<const MetricsServer::Pages*>(cls);
    const std::string path = std::string(url).substr(0, std::string(url).find('?'));
    if (path != "/metrics" && path != "/healthz" && path != "/readyz") {
      return send(connection, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain");
    }
    if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
      return send(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "text/plain");
    }
    // Alive: this thread answers. (A probe must not depend on NATS: a liveness probe that fails
    // while nats-server restarts would have the process killed for nothing.)
    if (path == "/healthz") return send(connection, MHD_HTTP_OK, "ok\n", "text/plain");
    if (path == "/readyz") {
      std::string problem;
      try {
        problem = pages.ready();
      } catch (const std::exception& error) {
        problem = error.what();
      }
      return problem.empty() ? send(connection, MHD_HTTP_OK, "ready\n", "text/plain")
                             : send(connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                                    "not ready: " + problem + "\n", "text/plain");
    }
    try {
      return send(connection, MHD_HTTP_OK, pages.metrics(), kContentType);
    } catch (const std::exception& error) {
      return send(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                  std::string("cannot render metrics: ") + error.what() + "\n", "text/plain");
    }
  }
};

}  // namespace

void MetricsServer::DaemonDeleter::operator()(MHD_Daemon* daemon) const noexcept {
  MHD_stop_daemon(daemon);
}

MetricsServer::MetricsServer(const std::string& host, int port, Pages pages, Logger log)
    : pages_(std::move(pages)), log_(std::move(log)) {
  if (port < 0 || port > 65535) throw Error(Errc::invalid_argument, "metrics port must be 0-65535");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  const std::string ip = host == "localhost" ? "127.0.0.1" : host;
  if (::inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    throw Error(Errc::invalid_argument, "metrics: '" + host + "' is not an IPv4 address");
  }
  daemon_.reset(MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, nullptr,
                                 nullptr, &Handler::on_request, &pages_, MHD_OPTION_SOCK_ADDR,
                                 reinterpret_cast<sockaddr*>(&address),  // NOLINT: C API
                                 MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_END));
  if (!daemon_) {
    throw Error(Errc::invalid_argument,
                "metrics: cannot listen on " + host + ":" + std::to_string(port));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_.get(), MHD_DAEMON_INFO_BIND_PORT);
  const int bound = info != nullptr ? info->port : port;
  url_ = "http://" + ip + ":" + std::to_string(bound) + "/metrics";
  log_->info("metrics on {}", url_);
}

MetricsServer::~MetricsServer() = default;

}  // namespace polaris::detail
