// console/server.cpp - the web console's HTTP server (libmicrohttpd, one thread per connection):
// the embedded page, the JSON API and a tool call's event stream. Security as `polaris mcp
// serve`'s HTTP server: Host and Origin checks against DNS rebinding, an optional bearer token.
#include "console/server.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>

#include <spdlog/spdlog.h>

#include "console/assets.hpp"
#include "polaris/error.hpp"

namespace polaris::console {
namespace {

/// The largest request body accepted: a tool's arguments.
constexpr std::size_t kMaxRequestBytes = std::size_t{4} * 1024 * 1024;
/// A comment line on a quiet event stream this often, so that proxies and browsers keep it.
constexpr auto kKeepAlive = std::chrono::seconds(10);

// What every response carries: the page runs only its own script and talks only to its origin.
constexpr const char* kSecurityHeaders[][2] = {
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
     "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
};

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Compares in time independent of where the strings differ, so that the token cannot be
// guessed a byte at a time from response times.
bool same_secret(const std::string& given, const std::string& expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  }
  return difference == 0;
}

std::string sse_event(const char* name, const Json& data) {
  return std::string("event: ") + name +
         "\ndata: " + data.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

/// One tool call's event stream: progress and log messages as they come, then the result or the
/// error. Thread safety: push() from the library's delivery thread, next() from the HTTP
/// connection's thread.
class CallStream {
 public:
  CallStream() : started_(std::chrono::steady_clock::now()) {}

  void push(const Json& message) {
    std::lock_guard lock(mutex_);
    events_.push_back(sse_event("progress", message));
    cv_.notify_all();
  }
  void set_reply(std::future<Json> reply) { reply_ = std::move(reply); }

  /// The next bytes to send: an event, a keep-alive comment, or empty at the end of the stream.
  std::string next(const std::atomic<bool>& closing) {
    std::unique_lock lock(mutex_);
    auto quiet_since = std::chrono::steady_clock::now();
    for (;;) {
      if (!events_.empty()) {
        std::string event = std::move(events_.front());
        events_.pop_front();
        return event;
      }
      if (finished_ || closing.load()) return {};
      if (reply_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        finished_ = true;
        return outcome();
      }
      cv_.wait_for(lock, std::chrono::milliseconds(25));
      if (std::chrono::steady_clock::now() - quiet_since > kKeepAlive) return ": keep-alive\n\n";
    }
  }

 private:
  std::string outcome() {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
            .count();
    try {
      return sse_event("result", Json{{"result", reply_.get()}, {"ms", ms}});
    } catch (const Error& error) {
      return sse_event("error", Json{{"code", std::string(to_string(error.code()))},
                                     {"message", error.what()},
                                     {"ms", ms}});
    } catch (const std::exception& error) {
      return sse_event("error", Json{{"code", "internal"}, {"message", error.what()}, {"ms", ms}});
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> events_;
  std::future<Json> reply_;
  bool finished_ = false;
  const std::chrono::steady_clock::time_point started_;
};

}  // namespace

class Server::Impl {
 public:
  Impl(Backend& backend, ServerOptions options)
      : backend_(backend),
        options_(std::move(options)),
        log_(options_.logger ? options_.logger : spdlog::default_logger()) {}

  ~Impl() { close(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void listen(const std::string& host, int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &address.sin_addr) !=
        1) {
      throw Error(Errc::invalid_argument, "console: '" + host + "' is not an IPv4 address");
    }
    loopback_ = (ntohl(address.sin_addr.s_addr) >> 24) == 127;
    daemon_.reset(MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, nullptr, nullptr,
        &Impl::on_request, this, MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address),
        MHD_OPTION_NOTIFY_COMPLETED, &Impl::on_completed, this, MHD_OPTION_CONNECTION_TIMEOUT, 120U,
        MHD_OPTION_CONNECTION_LIMIT, 256U, MHD_OPTION_END));
    if (!daemon_) {
      throw Error(Errc::invalid_argument,
                  "console: cannot listen on " + host + ":" + std::to_string(port));
    }
    const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_.get(), MHD_DAEMON_INFO_BIND_PORT);
    port_ = info != nullptr ? info->port : port;
  }

  [[nodiscard]] int port() const { return port_; }

  void close() {
    closing_.store(true);
    daemon_.reset();  // joins the connection threads; their streams end on closing_
  }

 private:
  struct HttpRequest {
    std::string body;
    bool too_large = false;
  };

  struct StreamReader {
    std::shared_ptr<CallStream> stream;
    Impl* server = nullptr;
    std::string pending;
    std::size_t offset = 0;
  };

  static std::string header(MHD_Connection* connection, const char* name) {
    const char* value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
    return value == nullptr ? std::string() : std::string(value);
  }

  static void add_common_headers(MHD_Response* response) {
    for (const auto& [name, value] : kSecurityHeaders) {
      MHD_add_response_header(response, name, value);
    }
  }

  static MHD_Result send(MHD_Connection* connection, unsigned status, std::string_view body,
                         std::string_view content_type, bool cache = false) {
    MHD_Response* response = MHD_create_response_from_buffer(
        body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);  // NOLINT
    if (response == nullptr) return MHD_NO;
    add_common_headers(response);
    MHD_add_response_header(response, "Content-Type", std::string(content_type).c_str());
    MHD_add_response_header(response, "Cache-Control", cache ? "no-cache" : "no-store");
    if (status == MHD_HTTP_UNAUTHORIZED) {
      MHD_add_response_header(response, "WWW-Authenticate", "Bearer");
    }
    const MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
  }

  static MHD_Result send_json(MHD_Connection* connection, unsigned status, const Json& body) {
    return send(connection, status, body.dump(-1, ' ', false, Json::error_handler_t::replace),
                "application/json");
  }

  static MHD_Result send_error(MHD_Connection* connection, unsigned status,
                               const std::string& message) {
    return send_json(connection, status, Json{{"error", message}});
  }

  static void on_completed(void* /*cls*/, MHD_Connection* /*connection*/, void** con_cls,
                           MHD_RequestTerminationCode /*code*/) {
    std::unique_ptr<HttpRequest> request(static_cast<HttpRequest*>(*con_cls));
    *con_cls = nullptr;
  }

  static MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url,
                               const char* method, const char* /*version*/, const char* upload_data,
                               size_t* upload_data_size, void** con_cls) {
    auto* self = static_cast<Impl*>(cls);
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
      self->log_->warn("console: {} {}: {}", method, url, error.what());
      return send_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
    }
  }

  // The host part of a Host header or of an Origin's authority, lower case ("[::1]" kept whole).
  static std::string host_name(const std::string& authority) {
    std::string host = lower(authority);
    if (!host.empty() && host[0] == '[') return host.substr(0, host.find(']') + 1);
    return host.substr(0, host.find(':'));
  }

  bool host_allowed(const std::string& host_header) const {
    if (std::find(options_.allowed_hosts.begin(), options_.allowed_hosts.end(), host_header) !=
        options_.allowed_hosts.end()) {
      return true;
    }
    if (!loopback_) return options_.allowed_hosts.empty();
    const std::string host = host_name(host_header);
    return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
  }

  // A browser sends Origin on every POST and on cross-origin requests: the page's own origin
  // (the Host it was loaded from) or one the operator allowed.
  bool origin_allowed(const std::string& origin, const std::string& host_header) const {
    if (origin.empty()) return true;
    if (std::find(options_.allowed_origins.begin(), options_.allowed_origins.end(), origin) !=
        options_.allowed_origins.end()) {
      return true;
    }
    const std::string lowered = lower(origin);
    return lowered == "http://" + lower(host_header);
  }

  MHD_Result route(MHD_Connection* connection, const std::string& url, const std::string& method,
                   const HttpRequest& request) {
    const std::string path = url.substr(0, url.find('?'));
    const std::string host = header(connection, "Host");
    if (!host_allowed(host)) {
      return send_error(connection, MHD_HTTP_FORBIDDEN, "forbidden: Host not allowed");
    }
    if (!origin_allowed(header(connection, "Origin"), host)) {
      return send_error(connection, MHD_HTTP_FORBIDDEN, "forbidden: Origin not allowed");
    }
    if (path.rfind("/api/", 0) != 0) return serve_asset(connection, path, method);
    if (!options_.bearer_token.empty() &&
        !same_secret(header(connection, "Authorization"), "Bearer " + options_.bearer_token)) {
      return send_error(connection, MHD_HTTP_UNAUTHORIZED,
                        "unauthorized: a bearer token is needed");
    }
    if (path == "/api/call") {
      if (method != "POST") return not_allowed(connection, "POST");
      return call(connection, request);
    }
    if (method != "GET") return not_allowed(connection, "GET");
    if (path == "/api/info") {
      Json info = backend_.info();
      info["read_only"] = options_.read_only;
      info["auth"] = !options_.bearer_token.empty();
      return send_json(connection, MHD_HTTP_OK, info);
    }
    if (path == "/api/status") return send_json(connection, MHD_HTTP_OK, backend_.status());
    if (path == "/api/tools") return send_json(connection, MHD_HTTP_OK, backend_.tools());
    if (path == "/api/stats") return send_json(connection, MHD_HTTP_OK, backend_.stats());
    return send_error(connection, MHD_HTTP_NOT_FOUND, "not found: " + path);
  }

  static MHD_Result not_allowed(MHD_Connection* connection, const char* allow) {
    MHD_Response* response = MHD_create_response_from_buffer(0, nullptr, MHD_RESPMEM_PERSISTENT);
    if (response == nullptr) return MHD_NO;
    add_common_headers(response);
    MHD_add_response_header(response, "Allow", allow);
    const MHD_Result result = MHD_queue_response(connection, MHD_HTTP_METHOD_NOT_ALLOWED, response);
    MHD_destroy_response(response);
    return result;
  }

  MHD_Result serve_asset(MHD_Connection* connection, const std::string& path,
                         const std::string& method) {
    if (method != "GET" && method != "HEAD") return not_allowed(connection, "GET, HEAD");
    const std::string wanted = path == "/" ? "/index.html" : path;
    for (const auto& asset : assets()) {
      if (asset.path == wanted) {
        return send(connection, MHD_HTTP_OK, asset.body, asset.content_type, /*cache=*/true);
      }
    }
    return send(connection, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain; charset=utf-8");
  }

  MHD_Result call(MHD_Connection* connection, const HttpRequest& request) {
    if (options_.read_only) {
      return send_error(connection, MHD_HTTP_FORBIDDEN,
                        "forbidden: the console is read-only (--read-only)");
    }
    if (request.too_large) {
      return send_error(connection, MHD_HTTP_CONTENT_TOO_LARGE, "request too large");
    }
    // A cross-site form cannot send this type without a CORS preflight, which is never granted.
    if (lower(header(connection, "Content-Type")).rfind("application/json", 0) != 0) {
      return send_error(connection, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                        "Content-Type must be application/json");
    }
    const Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("tool") || !body["tool"].is_string() ||
        body["tool"].get<std::string>().empty()) {
      return send_error(connection, MHD_HTTP_BAD_REQUEST,
                        "the body must be {\"tool\": NAME, \"arguments\": {...}}");
    }
    const Json arguments = body.value("arguments", Json::object());
    if (!arguments.is_object()) {
      return send_error(connection, MHD_HTTP_BAD_REQUEST, "arguments must be a JSON object");
    }
    auto stream = std::make_shared<CallStream>();
    std::weak_ptr<CallStream> weak = stream;
    std::future<Json> reply;
    try {
      reply =
          backend_.call(body["tool"].get<std::string>(), arguments, [weak](const Json& message) {
            if (auto alive = weak.lock()) alive->push(message);
          });
    } catch (const Error&) {
      // Refused before it was sent (e.g. a name that cannot be a tool's): the stream's error.
      std::promise<Json> refused;
      refused.set_exception(std::current_exception());
      reply = refused.get_future();
    }
    stream->set_reply(std::move(reply));
    auto reader = std::make_unique<StreamReader>();
    reader->stream = std::move(stream);
    reader->server = this;
    MHD_Response* response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 16 * 1024, &Impl::read_stream, reader.get(), &Impl::free_stream);
    if (response == nullptr) return MHD_NO;
    (void)reader.release();  // owned by the response now: free_stream deletes it
    add_common_headers(response);
    MHD_add_response_header(response, "Content-Type", "text/event-stream");
    MHD_add_response_header(response, "Cache-Control", "no-store");
    const MHD_Result result = MHD_queue_response(connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
  }

  static ssize_t read_stream(void* cls, uint64_t /*pos*/, char* buffer, size_t max) {
    auto* reader = static_cast<StreamReader*>(cls);
    if (reader->offset == reader->pending.size()) {
      reader->pending = reader->stream->next(reader->server->closing_);
      reader->offset = 0;
      if (reader->pending.empty()) return MHD_CONTENT_READER_END_OF_STREAM;
    }
    const std::size_t n = std::min(max, reader->pending.size() - reader->offset);
    std::memcpy(buffer, reader->pending.data() + reader->offset, n);
    reader->offset += n;
    return static_cast<ssize_t>(n);
  }

  static void free_stream(void* cls) {
    std::unique_ptr<StreamReader> owned(static_cast<StreamReader*>(cls));
  }

  struct DaemonDeleter {
    void operator()(MHD_Daemon* daemon) const noexcept { MHD_stop_daemon(daemon); }
  };

  Backend& backend_;
  const ServerOptions options_;
  Logger log_;
  bool loopback_ = true;
  int port_ = 0;
  std::atomic<bool> closing_{false};
  std::unique_ptr<MHD_Daemon, DaemonDeleter> daemon_;  // last: stopped before the rest goes
};

Server::Server(Backend& backend, ServerOptions options)
    : impl_(std::make_unique<Impl>(backend, std::move(options))) {}
Server::~Server() = default;
void Server::listen(const std::string& host, int port) { impl_->listen(host, port); }
int Server::port() const { return impl_->port(); }
void Server::close() { impl_->close(); }

}  // namespace polaris::console
