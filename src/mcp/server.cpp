// mcp/server.cpp - the cluster as one MCP server: catalogue polling, stdio, Streamable HTTP
// (libmicrohttpd, one thread per connection, so every SSE stream has its own thread and a long
// stream never starves other requests). The MCP methods themselves are in server_core.cpp.
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "client/worker_pool.hpp"
#include "common/line_buffer.hpp"
#include "common/log.hpp"
#include "common/untrusted_json.hpp"
#include "mcp/server_core.hpp"
#include "mcp/write_all.hpp"
#include "polaris/error.hpp"
#include "polaris/mcp.hpp"

namespace polaris::mcp {
namespace {

/// The largest request accepted: an HTTP body, a stdio line. Tool arguments are small; 16 MiB
/// leaves room for inline files without letting a client exhaust memory.
constexpr std::size_t kMaxRequestBytes = std::size_t{16} * 1024 * 1024;

using detail::rpc_error;

std::string random_hex(std::size_t bytes) {
  std::random_device device;
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto value = static_cast<unsigned>(device()) & 0xffU;
    out += kHex[value >> 4];
    out += kHex[value & 0xfU];
  }
  return out;
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

/// An SSE stream as an append-only log of events: every reader (connection) has its own cursor,
/// so a client that reconnects with Last-Event-ID continues where it left off.
/// Thread safety: all methods from any thread.
class EventStream {
 public:
  explicit EventStream(std::string id) : id_(std::move(id)) {}
  [[nodiscard]] const std::string& id() const { return id_; }

  /// Appends a message; returns false once the stream is finished.
  bool push(const Json& message) {
    std::lock_guard lock(mutex_);
    if (done_) return false;
    const std::size_t seq = events_.size() + 1;
    events_.push_back("id: " + id_ + ":" + std::to_string(seq) + "\nevent: message\ndata: " +
                      message.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n");
    cv_.notify_all();
    return true;
  }
  /// An event with an id and no data, so that a client can resume from the very start.
  void prime(long retry_ms) {
    std::lock_guard lock(mutex_);
    const std::size_t seq = events_.size() + 1;
    events_.push_back("id: " + id_ + ":" + std::to_string(seq) +
                      "\nretry: " + std::to_string(retry_ms) + "\ndata: \n\n");
    cv_.notify_all();
  }
  void finish() {
    std::lock_guard lock(mutex_);
    done_ = true;
    cv_.notify_all();
  }
  [[nodiscard]] bool done() const {
    std::lock_guard lock(mutex_);
    return done_;
  }
  /// Waits up to `wait` for event `index` (0-based); returns it, or nullopt.
  std::optional<std::string> event(std::size_t index, std::chrono::milliseconds wait,
                                   bool& finished) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, wait, [&] { return index < events_.size() || done_; });
    finished = done_ && index >= events_.size();
    if (index < events_.size()) return events_[index];
    return std::nullopt;
  }
  void wake() { cv_.notify_all(); }

 private:
  std::string id_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
  bool done_ = false;
};

/// One MCP session (one client). Thread safety: guarded by mutex (ClientState's).
struct Session : detail::ClientState {
  std::string id;
  std::size_t next_stream = 0;
  std::map<std::string, std::shared_ptr<EventStream>> streams;  // by stream id, for resumption
  std::shared_ptr<EventStream> get_stream;  // the standalone GET stream, if open
  std::vector<Json> pending_notifications;  // server-initiated, held while no GET stream is open

  std::shared_ptr<EventStream> new_stream(char kind) {
    std::lock_guard lock(mutex);
    auto stream =
        std::make_shared<EventStream>(std::string(1, kind) + std::to_string(++next_stream));
    streams[stream->id()] = stream;
    // Bound the memory: forget the oldest finished streams.
    while (streams.size() > 256) {
      auto oldest = std::find_if(streams.begin(), streams.end(),
                                 [](const auto& entry) { return entry.second->done(); });
      if (oldest == streams.end()) break;
      streams.erase(oldest);
    }
    return stream;
  }
};

}  // namespace

// Thread safety: sessions_ and catalogue state guarded by mutex_; MHD calls the handlers on its
// connection threads; stdio requests run on a WorkerPool of serve_stdio's.
class Server::Impl {
 public:
  Impl(Connection& connection, ServerOptions options)
      : tools_(connection),
        options_(std::move(options)),
        log_(polaris::detail::logger_or_default(options_.logger)),
        dispatcher_(tools_, options_, log_) {
    if (options_.catalogue_poll.count() > 0) poller_ = std::thread([this] { poll_catalogue(); });
  }

  ~Impl() { close(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void close() noexcept {
    {
      std::lock_guard lock(mutex_);
      if (closing_) return;
      closing_ = true;
    }
    wake_.notify_all();
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, session] : sessions_) {
        std::lock_guard session_lock(session->mutex);
        for (auto& [stream_id, stream] : session->streams) stream->finish();
      }
    }
    if (poller_.joinable()) poller_.join();
    daemon_.reset();
    http_workers_.drain(std::chrono::hours(24));  // calls end by their call_timeout
  }

  [[nodiscard]] bool closing() const {
    std::lock_guard lock(mutex_);
    return closing_;
  }

  // The protocol itself (initialize, tools/list, tools/call...) is dispatcher_'s
  // (mcp/server_core.hpp); what follows is catalogue polling and the two transports.

  // ---- catalogue changes ----

  void poll_catalogue() {
    std::string last;
    bool first = true;
    std::unique_lock lock(mutex_);
    while (!closing_) {
      lock.unlock();
      std::string signature;
      try {
        signature = dispatcher_.list_tools().dump();
      } catch (const std::exception& error) {
        log_->debug("mcp serve: reading the catalogue failed: {}", error.what());
        signature = last;
      }
      if (!first && signature != last) broadcast_list_changed();
      first = false;
      last = signature;
      lock.lock();
      wake_.wait_for(lock, options_.catalogue_poll, [this] { return closing_; });
    }
  }

  void broadcast_list_changed() {
    const Json note = {{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}};
    std::function<void(const Json&)> stdio;
    std::vector<std::shared_ptr<Session>> sessions;
    {
      std::lock_guard lock(mutex_);
      stdio = stdio_emit_;
      for (auto& [id, session] : sessions_) sessions.push_back(session);
    }
    if (stdio) stdio(note);
    for (auto& session : sessions) {
      std::lock_guard lock(session->mutex);
      if (!session->get_stream || !session->get_stream->push(note)) {
        session->pending_notifications.push_back(note);
      }
    }
  }

  // ---- stdio ----

  void serve_stdio(int in_fd, int out_fd) {
    auto session = std::make_shared<Session>();
    auto write_mutex = std::make_shared<std::mutex>();
    auto emit = [out_fd, write_mutex](const Json& message) {
      const std::string line = message.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
      std::lock_guard lock(*write_mutex);
      (void)detail::write_all(out_fd, line);  // a client that went away ends the loop via stdin
    };
    {
      std::lock_guard lock(mutex_);
      stdio_emit_ = emit;
    }
    // Requests run on a bounded pool (a job keeps the session alive); beyond its waiting room a
    // request is refused at once with a JSON-RPC error (Dispatcher::handle_message). The pool
    // is declared after `session`, so that it drains (waits for running requests) first.
    polaris::detail::WorkerPool workers(options_.max_parallel_requests,
                                        options_.max_queued_requests);
    const detail::Run run = [&workers, session](std::function<void()> work) {
      return workers.try_submit([session, work = std::move(work)] { work(); });
    };
    polaris::detail::LineBuffer lines(kMaxRequestBytes);
    std::array<char, 65536> buffer{};
    while (!closing()) {
      pollfd fd{in_fd, POLLIN, 0};
      const int ready = ::poll(&fd, 1, 200);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) break;
      if (ready == 0) continue;
      const ssize_t n = ::read(in_fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      try {
        lines.append(
            std::string_view(buffer.data(), static_cast<std::size_t>(n)),
            [&](std::string_view line) { dispatcher_.handle_line(line, *session, emit, run); });
      } catch (const Error& error) {
        // The rest of the line would read as garbage: there is no way back into the stream.
        log_->warn("mcp serve: stdin: {}; ending the session", error.what());
        emit(rpc_error(nullptr, -32600, std::string("request too large: ") + error.what()));
        break;
      }
    }
    {
      std::lock_guard lock(mutex_);
      stdio_emit_ = nullptr;
    }
    workers.drain(std::chrono::hours(24));  // calls end by their call_timeout
  }

  // ---- Streamable HTTP ----

  void listen(const std::string& host, int port) {
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
        &Impl::on_request, this, MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address),
        MHD_OPTION_NOTIFY_COMPLETED, &Impl::on_completed, this, MHD_OPTION_CONNECTION_TIMEOUT, 0U,
        MHD_OPTION_CONNECTION_LIMIT, 4096U, MHD_OPTION_END));
    if (!daemon_) {
      throw Error(Errc::invalid_argument,
                  "mcp serve: cannot listen on " + host + ":" + std::to_string(port));
    }
    const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_.get(), MHD_DAEMON_INFO_BIND_PORT);
    port_ = info != nullptr ? info->port : port;
    log_->info("mcp serve: Streamable HTTP on http://{}:{}/mcp", host, port_);
  }

  [[nodiscard]] int port() const { return port_; }

 private:
  struct HttpRequest {
    std::string body;
    bool too_large = false;
  };

  struct StreamReader {
    std::shared_ptr<EventStream> stream;
    std::size_t next = 0;    // index of the next event
    std::size_t offset = 0;  // bytes of that event already sent
    Impl* server = nullptr;
    std::shared_ptr<Session> session;  // keeps a GET stream's session alive
    bool is_get = false;
  };

  static std::string header(MHD_Connection* connection, const char* name) {
    const char* value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
    return value == nullptr ? std::string() : std::string(value);
  }

  static MHD_Result send_text(MHD_Connection* connection, unsigned status, const std::string& body,
                              const char* content_type = "application/json",
                              const std::string& session_id = {}) {
    MHD_Response* response = MHD_create_response_from_buffer(
        body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);  // NOLINT
    if (response == nullptr) return MHD_NO;
    if (!body.empty()) MHD_add_response_header(response, "Content-Type", content_type);
    if (!session_id.empty())
      MHD_add_response_header(response, "Mcp-Session-Id", session_id.c_str());
    if (status == MHD_HTTP_UNAUTHORIZED) {
      MHD_add_response_header(response, "WWW-Authenticate", "Bearer");
    }
    const MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
  }

  static MHD_Result send_error(MHD_Connection* connection, unsigned status, int code,
                               const std::string& message) {
    return send_text(connection, status, rpc_error(nullptr, code, message).dump());
  }

  MHD_Result send_stream(MHD_Connection* connection, std::shared_ptr<EventStream> stream,
                         std::size_t from, std::shared_ptr<Session> session, bool is_get) {
    auto reader = std::make_unique<StreamReader>();
    reader->stream = std::move(stream);
    reader->next = from;
    reader->server = this;
    reader->session = std::move(session);
    reader->is_get = is_get;
    const std::string session_id = reader->session ? reader->session->id : std::string();
    MHD_Response* response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 16 * 1024, &Impl::read_stream, reader.get(), &Impl::free_stream);
    if (response == nullptr) return MHD_NO;
    (void)reader.release();  // owned by the response now: free_stream deletes it
    MHD_add_response_header(response, "Content-Type", "text/event-stream");
    MHD_add_response_header(response, "Cache-Control", "no-cache");
    if (!session_id.empty())
      MHD_add_response_header(response, "Mcp-Session-Id", session_id.c_str());
    const MHD_Result result = MHD_queue_response(connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
  }

  static ssize_t read_stream(void* cls, uint64_t /*pos*/, char* buffer, size_t max) {
    auto* reader = static_cast<StreamReader*>(cls);
    for (;;) {
      if (reader->server->closing()) return MHD_CONTENT_READER_END_OF_STREAM;
      bool finished = false;
      auto event = reader->stream->event(reader->next, std::chrono::milliseconds(500), finished);
      if (event) {
        const std::size_t n = std::min(max, event->size() - reader->offset);
        std::memcpy(buffer, event->data() + reader->offset, n);
        reader->offset += n;
        if (reader->offset == event->size()) {
          ++reader->next;
          reader->offset = 0;
        }
        return static_cast<ssize_t>(n);
      }
      if (finished) return MHD_CONTENT_READER_END_OF_STREAM;
    }
  }

  static void free_stream(void* cls) {
    std::unique_ptr<StreamReader> reader(static_cast<StreamReader*>(cls));
    if (reader->is_get && reader->session) {
      std::lock_guard lock(reader->session->mutex);
      if (reader->session->get_stream == reader->stream) {
        reader->stream->finish();
        reader->session->get_stream.reset();
      }
    }
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
      self->log_->warn("mcp serve: {} {}: {}", method, url, error.what());
      return send_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, -32603, "internal error");
    }
  }

  bool host_allowed(const std::string& host_header) const {
    if (!options_.allowed_hosts.empty() &&
        std::find(options_.allowed_hosts.begin(), options_.allowed_hosts.end(), host_header) !=
            options_.allowed_hosts.end()) {
      return true;
    }
    if (!loopback_) return options_.allowed_hosts.empty();
    std::string host = lower(host_header);
    if (!host.empty() && host[0] == '[') {
      host = host.substr(0, host.find(']') + 1);
    } else if (auto colon = host.find(':'); colon != std::string::npos) {
      host = host.substr(0, colon);
    }
    return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
  }

  bool origin_allowed(const std::string& origin) const {
    if (origin.empty()) return true;
    if (std::find(options_.allowed_origins.begin(), options_.allowed_origins.end(), origin) !=
        options_.allowed_origins.end()) {
      return true;
    }
    if (!loopback_) return options_.allowed_origins.empty();
    const auto scheme = origin.find("://");
    if (scheme == std::string::npos) return false;
    return host_allowed(origin.substr(scheme + 3));
  }

  std::shared_ptr<Session> find_session(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second;
  }

  MHD_Result route(MHD_Connection* connection, const std::string& url, const std::string& method,
                   const HttpRequest& request) {
    const std::string path = url.substr(0, url.find('?'));
    if (path != "/mcp") return send_error(connection, MHD_HTTP_NOT_FOUND, -32600, "not found");
    if (!host_allowed(header(connection, "Host"))) {
      return send_error(connection, MHD_HTTP_FORBIDDEN, -32600, "forbidden: Host not allowed");
    }
    if (!origin_allowed(header(connection, "Origin"))) {
      return send_error(connection, MHD_HTTP_FORBIDDEN, -32600, "forbidden: Origin not allowed");
    }
    if (!options_.bearer_token.empty() &&
        header(connection, "Authorization") != "Bearer " + options_.bearer_token) {
      return send_error(connection, MHD_HTTP_UNAUTHORIZED, -32600, "unauthorized");
    }
    const std::string version_header = header(connection, "MCP-Protocol-Version");
    if (!version_header.empty()) {
      const auto& versions = supported_protocol_versions();
      if (std::find(versions.begin(), versions.end(), version_header) == versions.end()) {
        return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600,
                          "unsupported MCP-Protocol-Version " + version_header);
      }
    }
    if (method == "POST") return post(connection, request);
    if (method == "GET") return get(connection);
    if (method == "DELETE") {
      const std::string id = header(connection, "Mcp-Session-Id");
      std::shared_ptr<Session> session;
      {
        std::lock_guard lock(mutex_);
        auto it = sessions_.find(id);
        if (it == sessions_.end()) {
          return send_error(connection, MHD_HTTP_NOT_FOUND, -32600, "unknown session");
        }
        session = it->second;
        sessions_.erase(it);
      }
      std::lock_guard lock(session->mutex);
      for (auto& [stream_id, stream] : session->streams) stream->finish();
      return send_text(connection, MHD_HTTP_OK, "");
    }
    MHD_Response* response = MHD_create_response_from_buffer(0, nullptr, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(response, "Allow", "GET, POST, DELETE");
    const MHD_Result result = MHD_queue_response(connection, MHD_HTTP_METHOD_NOT_ALLOWED, response);
    MHD_destroy_response(response);
    return result;
  }

  MHD_Result post(MHD_Connection* connection, const HttpRequest& request) {
    const std::string accept = lower(header(connection, "Accept"));
    if (accept.find("application/json") == std::string::npos ||
        accept.find("text/event-stream") == std::string::npos) {
      return send_error(connection, MHD_HTTP_NOT_ACCEPTABLE, -32600,
                        "Accept must list application/json and text/event-stream");
    }
    if (lower(header(connection, "Content-Type")).find("application/json") != 0) {
      return send_error(connection, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, -32600,
                        "Content-Type must be application/json");
    }
    if (request.too_large) {
      return send_error(connection, MHD_HTTP_CONTENT_TOO_LARGE, -32600, "request too large");
    }
    Json message = polaris::detail::parse_untrusted_json(request.body);
    if (message.is_discarded())
      return send_error(connection, MHD_HTTP_BAD_REQUEST, -32700, "parse error");
    if (!message.is_object()) {
      return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600,
                        "a message must be a JSON object");
    }
    const bool has_method = message.contains("method") && message["method"].is_string();
    const bool has_id = message.contains("id") && !message["id"].is_null();
    if (!has_method && !(has_id && (message.contains("result") || message.contains("error")))) {
      return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600, "invalid JSON-RPC message");
    }
    const std::string session_id = header(connection, "Mcp-Session-Id");

    if (has_method && message["method"] == "initialize") {
      if (!has_id)
        return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600, "initialize needs an id");
      return post_initialize(connection, message);
    }
    if (session_id.empty()) {
      return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600, "missing Mcp-Session-Id");
    }
    auto session = find_session(session_id);
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
  MHD_Result post_initialize(MHD_Connection* connection, const Json& message) {
    auto session = std::make_shared<Session>();
    session->id = random_hex(16);
    const Json response = dispatcher_.handle_request(message, *session, {});
    if (response.contains("result")) {
      std::lock_guard lock(mutex_);
      sessions_[session->id] = session;
    }
    return send_text(connection, MHD_HTTP_OK, response.dump(), "application/json", session->id);
  }

  // tools/call may run long and send notifications: answered on an SSE stream, from the pool.
  MHD_Result post_tool_call(MHD_Connection* connection, const Json& message,
                            const std::shared_ptr<Session>& session) {
    auto stream = session->new_stream('p');
    std::string version;
    {
      std::lock_guard lock(session->mutex);
      version = session->protocol_version;
    }
    if (version >= "2025-11-25") stream->prime(1000);
    const bool accepted = http_workers_.try_submit([this, message, session, stream] {
      const auto emit = [stream](const Json& note) { stream->push(note); };
      stream->push(dispatcher_.handle_request(message, *session, emit));
      stream->finish();
    });
    if (!accepted) {  // too many calls in progress: a JSON answer at once, not a stream
      stream->finish();
      const Json busy =
          rpc_error(message["id"], detail::kBusy, "server busy: too many requests in progress");
      return send_text(connection, MHD_HTTP_OK, busy.dump(), "application/json", session->id);
    }
    return send_stream(connection, stream, 0, session, false);
  }

  MHD_Result get(MHD_Connection* connection) {
    const std::string accept = lower(header(connection, "Accept"));
    if (accept.find("text/event-stream") == std::string::npos) {
      return send_error(connection, MHD_HTTP_NOT_ACCEPTABLE, -32600,
                        "Accept must list text/event-stream");
    }
    const std::string session_id = header(connection, "Mcp-Session-Id");
    if (session_id.empty()) {
      return send_error(connection, MHD_HTTP_BAD_REQUEST, -32600, "missing Mcp-Session-Id");
    }
    auto session = find_session(session_id);
    if (!session) return send_error(connection, MHD_HTTP_NOT_FOUND, -32600, "unknown session");

    // Resumption: "streamid:seq" continues that stream after event seq.
    const std::string last_event_id = header(connection, "Last-Event-ID");
    if (!last_event_id.empty()) {
      const auto colon = last_event_id.rfind(':');
      std::shared_ptr<EventStream> stream;
      std::size_t seq = 0;
      if (colon != std::string::npos) {
        const std::string digits = last_event_id.substr(colon + 1);
        if (!digits.empty() && digits.size() < 10 &&
            std::all_of(digits.begin(), digits.end(),
                        [](char c) { return c >= '0' && c <= '9'; })) {
          seq = std::stoul(digits);
          std::lock_guard lock(session->mutex);
          auto it = session->streams.find(last_event_id.substr(0, colon));
          if (it != session->streams.end()) stream = it->second;
        }
      }
      if (stream) {
        const bool is_get = stream->id()[0] == 'g';
        if (is_get) {
          std::lock_guard lock(session->mutex);
          session->get_stream = stream;
        }
        return send_stream(connection, stream, seq, session, is_get);
      }
    }
    std::shared_ptr<EventStream> stream;
    {
      std::lock_guard lock(session->mutex);
      if (session->get_stream && !session->get_stream->done()) {
        return send_error(connection, MHD_HTTP_CONFLICT, -32600, "a GET stream is already open");
      }
    }
    stream = session->new_stream('g');
    {
      std::lock_guard lock(session->mutex);
      session->get_stream = stream;
      for (const auto& note : session->pending_notifications) stream->push(note);
      session->pending_notifications.clear();
    }
    return send_stream(connection, stream, 0, session, true);
  }

  detail::ConnectionToolSource tools_;
  ServerOptions options_;
  Logger log_;
  detail::Dispatcher dispatcher_;  // after options_ and log_, which it uses
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool closing_ = false;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
  std::function<void(const Json&)> stdio_emit_;
  struct DaemonDeleter {
    void operator()(MHD_Daemon* daemon) const noexcept { MHD_stop_daemon(daemon); }
  };
  std::unique_ptr<MHD_Daemon, DaemonDeleter> daemon_;
  int port_ = 0;
  bool loopback_ = true;
  /// HTTP tools/call requests (other methods answer on MHD's connection thread).
  polaris::detail::WorkerPool http_workers_{options_.max_parallel_requests,
                                            options_.max_queued_requests};
  std::thread poller_;
};

Server::Server(Connection& connection, ServerOptions options)
    : impl_(std::make_shared<Impl>(connection, std::move(options))) {}
Server::~Server() {
  if (impl_) impl_->close();
}
void Server::serve_stdio(int in_fd, int out_fd) { impl_->serve_stdio(in_fd, out_fd); }
void Server::listen(const std::string& host, int port) { impl_->listen(host, port); }
int Server::port() const { return impl_->port(); }
void Server::close() { impl_->close(); }

}  // namespace polaris::mcp
