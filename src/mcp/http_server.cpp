#include "mcp/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/untrusted_json.hpp"
#include "mcp/http_responses.hpp"
#include "polaris/error.hpp"

namespace polaris::mcp::detail {
namespace {

/// The largest HTTP body accepted. Tool arguments are small; 16 MiB leaves room for inline
/// files without letting a client exhaust memory.
constexpr std::size_t kMaxRequestBytes = std::size_t{16} * 1024 * 1024;

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool listed(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

HttpServer::HttpServer(Dispatcher& dispatcher, const ServerOptions& options, Logger log)
    : dispatcher_(dispatcher),
      options_(options),
      log_(std::move(log)),
      workers_(options.max_parallel_requests, options.max_queued_requests) {}

void HttpServer::listen(const std::string& host, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &address.sin_addr) !=
      1) {
    throw Error(Errc::invalid_argument, "mcp serve: '" + host + "' is not an IPv4 address");
  }
  loopback_ = (ntohl(address.sin_addr.s_addr) >> 24) == 127;
  daemon_.reset(MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, nullptr, nullptr,
      &HttpServer::on_request, this, MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address),
      MHD_OPTION_NOTIFY_COMPLETED, &HttpServer::on_completed, this, MHD_OPTION_CONNECTION_TIMEOUT,
      0U, MHD_OPTION_CONNECTION_LIMIT, 4096U, MHD_OPTION_END));
  if (!daemon_) {
    throw Error(Errc::invalid_argument,
                "mcp serve: cannot listen on " + host + ":" + std::to_string(port));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_.get(), MHD_DAEMON_INFO_BIND_PORT);
  port_ = info != nullptr ? info->port : port;
  log_->info("mcp serve: Streamable HTTP on http://{}:{}/mcp", host, port_);
}

void HttpServer::close() noexcept {
  if (closing_.exchange(true)) return;
  for (const auto& session : sessions_.all()) session->finish_streams();
  daemon_.reset();
  workers_.drain(std::chrono::hours(24));  // calls end by their call_timeout
}

void HttpServer::on_completed(void* /*cls*/, MHD_Connection* /*connection*/, void** con_cls,
                              MHD_RequestTerminationCode /*code*/) {
  std::unique_ptr<HttpRequest> request(static_cast<HttpRequest*>(*con_cls));
  *con_cls = nullptr;
}

MHD_Result HttpServer::on_request(void* cls, MHD_Connection* connection, const char* url,
                                  const char* method, const char* /*version*/,
                                  const char* upload_data, size_t* upload_data_size,
                                  void** con_cls) {
  auto* self = static_cast<HttpServer*>(cls);
  if (*con_cls == nullptr) {
    auto request = std::make_unique<HttpRequest>();
    *con_cls = request.release();  // owned by the connection: on_completed deletes it
    return MHD_YES;
  }
  auto* request = static_cast<HttpRequest*>(*con_cls);
  if (*upload_data_size != 0) {
    if (request->body.size() + *upload_data_size > kMaxRequestBytes) {
      request->too_large = true;
    } else {
      request->body.append(upload_data, *upload_data_size);
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  try {
    return self->route(connection, url, method, *request);
  } catch (const std::exception& error) {
    self->log_->warn("mcp serve: {} {}: {}", method, url, error.what());
    return send_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, -32603, "internal error");
  }
}

bool HttpServer::host_allowed(const std::string& host_header) const {
  if (!options_.allowed_hosts.empty() && listed(options_.allowed_hosts, host_header)) return true;
  if (!loopback_) return options_.allowed_hosts.empty();
  std::string host = lower(host_header);
  if (!host.empty() && host[0] == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else if (auto colon = host.find(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

bool HttpServer::origin_allowed(const std::string& origin) const {
  if (origin.empty()) return true;
  if (listed(options_.allowed_origins, origin)) return true;
  if (!loopback_) return options_.allowed_origins.empty();
  const auto scheme = origin.find("://");
  if (scheme == std::string::npos) return false;
  return host_allowed(origin.substr(scheme + 3));
}

std::optional<MHD_Result> HttpServer::refuse(MHD_Connection* connection, const std::string& url) {
  const std::string path = url.substr(0, url.find('?'));
  if (path != "/mcp") return send_error(connection, MHD_HTTP_NOT_FOUND, -32600, "not found");
  if (!host_allowed(request_header(connection, "Host"))) {
    return send_error(connection, MHD_HTTP_FORBIDDEN, -32600, "forbidden: Host not allowed");
  }
  if (!origin_allowed(request_header(connection, "Origin"))) {
    return send_error(connection, MHD_HTTP_FORBIDDEN, -32600, "forbidden: Origin not allowed");
  }
  if (!options_.bearer_token.empty() &&
      request_header(connection, "Authorization") != "Bearer " + options_.bearer_token) {
    return send_error(connection, MHD_HTTP_UNAUTHORIZED, -32600, "unauthorized");
  }
  const std::string version_header = request_header(connection, "MCP-Protocol-Version");
  if (!version_header.empty()) {
    const auto& versions = supported_protocol_versions();
    if (std::find(versions.begin(), versions.end(), version_header) == versions.end()) {
      return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600,
                        "unsupported MCP-Protocol-Version " + version_header);
    }
  }
  return std::nullopt;
}

MHD_Result HttpServer::route(MHD_Connection* connection, const std::string& url,
                             const std::string& method, const HttpRequest& request) {
  if (auto refused = refuse(connection, url)) return *refused;
  if (method == "POST") return post(connection, request);
  if (method == "GET") return get(connection);
  if (method == "DELETE") return remove_session(connection);
  return send_method_not_allowed(connection);
}

MHD_Result HttpServer::remove_session(MHD_Connection* connection) {
  auto session = sessions_.remove(request_header(connection, "Mcp-Session-Id"));
  if (!session) return send_error(connection, MHD_HTTP_NOT_FOUND, -32600, "unknown session");
  session->finish_streams();
  return send_text(connection, MHD_HTTP_OK, "");
}

MHD_Result HttpServer::post(MHD_Connection* connection, const HttpRequest& request) {
  const std::string accept = lower(request_header(connection, "Accept"));
  if (accept.find("application/json") == std::string::npos ||
      accept.find("text/event-stream") == std::string::npos) {
    return send_error(connection, MHD_HTTP_NOT_ACCEPTABLE, -32600,
                      "Accept must list application/json and text/event-stream");
  }
  if (lower(request_header(connection, "Content-Type")).find("application/json") != 0) {
    return send_error(connection, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, -32600,
                      "Content-Type must be application/json");
  }
  if (request.too_large) {
    return send_error(connection, MHD_HTTP_CONTENT_TOO_LARGE, -32600, "request too large");
  }
  Json message = polaris::detail::parse_untrusted_json(request.body);
  if (message.is_discarded()) {
    return send_error(connection, MHD_HTTP_BAD_REQUEST, -32700, "parse error");
  }
  if (!message.is_object()) {
    return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600, "a message must be a JSON object");
  }
  const bool has_method = message.contains("method") && message["method"].is_string();
  const bool has_id = message.contains("id") && !message["id"].is_null();
  if (!has_method && !(has_id && (message.contains("result") || message.contains("error")))) {
    return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600, "invalid JSON-RPC message");
  }
  if (has_method && message["method"] == "initialize") {
    if (!has_id) {
      return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600, "initialize needs an id");
    }
    return post_initialize(connection, message);
  }
  const std::string session_id = request_header(connection, "Mcp-Session-Id");
  if (session_id.empty()) {
    return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600, "missing Mcp-Session-Id");
  }
  auto session = sessions_.find(session_id);
  if (!session) return send_error(connection, MHD_HTTP_NOT_FOUND, -32600, "unknown session");
  if (!has_method || !has_id) {  // a notification or a response: accepted, nothing to answer
    if (has_method) dispatcher_.handle_notification(message);
    return send_text(connection, MHD_HTTP_ACCEPTED, "");
  }
  if (message["method"] != "tools/call") {
    const Json response = dispatcher_.handle_request(message, *session, {});
    return send_text(connection, MHD_HTTP_OK, response.dump(), "application/json", session->id);
  }
  return post_tool_call(connection, message, session);
}

// A new session.
MHD_Result HttpServer::post_initialize(MHD_Connection* connection, const Json& message) {
  auto session = std::make_shared<Session>();
  session->id = random_hex(16);
  const Json response = dispatcher_.handle_request(message, *session, {});
  if (response.contains("result")) sessions_.add(session);
  return send_text(connection, MHD_HTTP_OK, response.dump(), "application/json", session->id);
}

// tools/call may run long and send notifications: answered on an SSE stream, from the pool.
MHD_Result HttpServer::post_tool_call(MHD_Connection* connection, const Json& message,
                                      const std::shared_ptr<Session>& session) {
  auto stream = session->new_stream('p');
  std::string version;
  {
    std::lock_guard lock(session->mutex);
    version = session->protocol_version;
  }
  if (version >= "2025-11-25") stream->prime(1000);
  const bool accepted = workers_.try_submit([this, message, session, stream] {
    const auto emit = [stream](const Json& note) { stream->push(note); };
    stream->push(dispatcher_.handle_request(message, *session, emit));
    stream->finish();
  });
  if (!accepted) {  // too many calls in progress: a JSON answer at once, not a stream
    stream->finish();
    const Json busy = rpc_error(message["id"], kBusy, "server busy: too many requests in progress");
    return send_text(connection, MHD_HTTP_OK, busy.dump(), "application/json", session->id);
  }
  return send_stream(connection, stream, 0, session, false, closing_);
}

MHD_Result HttpServer::get(MHD_Connection* connection) {
  const std::string accept = lower(request_header(connection, "Accept"));
  if (accept.find("text/event-stream") == std::string::npos) {
    return send_error(connection, MHD_HTTP_NOT_ACCEPTABLE, -32600,
                      "Accept must list text/event-stream");
  }
  const std::string session_id = request_header(connection, "Mcp-Session-Id");
  if (session_id.empty()) {
    return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600, "missing Mcp-Session-Id");
  }
  auto session = sessions_.find(session_id);
  if (!session) return send_error(connection, MHD_HTTP_NOT_FOUND, -32600, "unknown session");
  const std::string last_event_id = request_header(connection, "Last-Event-ID");
  if (!last_event_id.empty()) {
    if (auto resumed = resume(connection, session, last_event_id)) return *resumed;
  }
  {
    std::lock_guard lock(session->mutex);
    if (session->get_stream && !session->get_stream->done()) {
      return send_error(connection, MHD_HTTP_CONFLICT, -32600, "a GET stream is already open");
    }
  }
  auto stream = session->new_stream('g');
  {
    std::lock_guard lock(session->mutex);
    session->get_stream = stream;
    for (const auto& note : session->pending_notifications) stream->push(note);
    session->pending_notifications.clear();
  }
  return send_stream(connection, stream, 0, session, true, closing_);
}

// Resumption: "streamid:seq" continues that stream after event seq; nullopt for a stream this
// session does not know (a new GET stream opens instead).
std::optional<MHD_Result> HttpServer::resume(MHD_Connection* connection,
                                             const std::shared_ptr<Session>& session,
                                             const std::string& last_event_id) {
  const auto colon = last_event_id.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  const std::string digits = last_event_id.substr(colon + 1);
  if (digits.empty() || digits.size() >= 10 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const std::size_t seq = std::stoul(digits);
  std::shared_ptr<EventStream> stream;
  {
    std::lock_guard lock(session->mutex);
    auto it = session->streams.find(last_event_id.substr(0, colon));
    if (it == session->streams.end()) return std::nullopt;
    stream = it->second;
  }
  const bool is_get = stream->id()[0] == 'g';
  if (is_get) {
    std::lock_guard lock(session->mutex);
    session->get_stream = stream;
  }
  return send_stream(connection, stream, seq, session, is_get, closing_);
}

}  // namespace polaris::mcp::detail
