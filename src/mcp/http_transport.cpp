// mcp/http_transport.cpp - MCP client transports over HTTP: Streamable HTTP (2025-03-26 and later)
// and the HTTP+SSE transport of 2024-11-05.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "common/log.hpp"
#include "common/message_limit.hpp"
#include "common/untrusted_json.hpp"
#include "http/http_client.hpp"
#include "http/sse.hpp"
#include "mcp/client_transport.hpp"
#include "polaris/error.hpp"

namespace polaris::mcp::detail {
namespace {

constexpr long kDefaultRetryMs = 1000;
constexpr int kMaxResumeAttempts = 5;

// An over-limit error with where it happened and the option that sets the limit.
Error too_large(const std::string& where, const Error& error) {
  return Error(Errc::payload_too_large,
               where + ": " + error.what() + " (ClientOptions::max_message_size)");
}

// `request_id`: the request whose own stream carried `message` (null: none, or not known).
void deliver(const Json& message, const Json& request_id,
             const ClientTransport::OnMessage& on_message, const Logger& log) {
  try {
    if (message.is_array()) {
      for (const auto& item : message) on_message(item, request_id);
    } else {
      on_message(message, request_id);
    }
  } catch (const std::exception& error) {
    log->warn("mcp: handling a message failed: {}", error.what());
  }
}

// "http://host:port/path" -> "http://host:port"
std::string origin_of(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto slash = url.find('/', scheme + 3);
  return slash == std::string::npos ? url : url.substr(0, slash);
}

std::string resolve_url(const std::string& base, const std::string& reference) {
  if (reference.find("://") != std::string::npos) return reference;
  if (!reference.empty() && reference[0] == '/') return origin_of(base) + reference;
  const auto last = base.rfind('/');
  return (last == std::string::npos ? base : base.substr(0, last + 1)) + reference;
}

// Streamable HTTP. Thread safety: send() from any thread; one GET stream thread.
class StreamableHttpTransport final : public ClientTransport {
 public:
  StreamableHttpTransport(ServerAddress address, TransportSettings settings)
      : address_(std::move(address)),
        connect_timeout_(settings.connect_timeout),
        max_message_(settings.max_message_size),
        log_(std::move(settings.log)) {}
  ~StreamableHttpTransport() override { close(); }
  StreamableHttpTransport(const StreamableHttpTransport&) = delete;
  StreamableHttpTransport& operator=(const StreamableHttpTransport&) = delete;

  void start(OnMessage on_message, OnClosed on_closed) override {
    on_message_ = std::move(on_message);
    on_closed_ = std::move(on_closed);
  }

  void send(const Json& message, const std::function<bool()>& cancelled) override {
    http::Request request;
    request.method = "POST";
    request.url = address_.url;
    request.headers = headers();
    request.headers.emplace_back("Content-Type", "application/json");
    request.headers.emplace_back("Accept", "application/json, text/event-stream");
    request.body = message.dump(-1, ' ', false, Json::error_handler_t::replace);
    request.connect_timeout = connect_timeout_;
    request.max_body = max_message_;
    request.cancelled = [this, &cancelled] {
      return closing_.load() || (cancelled && cancelled());
    };

    const Json request_id =
        message.is_object() && message.contains("method") ? message.value("id", Json()) : Json();
    Stream stream(this, request_id);
    http::Response response;
    try {
      response =
          http::perform(request, [&stream](std::string_view bytes) { return stream.feed(bytes); });
    } catch (const Error& error) {
      // This response is lost, the session is not: later requests get responses of their own.
      if (error.code() == Errc::payload_too_large)
        throw too_large("mcp: POST " + address_.url, error);
      throw;
    }
    if (response.aborted) return;
    if (response.status == 404 && has_session()) {
      throw Error(Errc::connection_lost, "mcp: the server ended the session (HTTP 404)");
    }
    if (response.status < 200 || response.status >= 300) {
      throw Error(response.status == 401 || response.status == 403 ? Errc::connection_failed
                                                                   : Errc::protocol,
                  "mcp: POST " + address_.url + " answered HTTP " +
                      std::to_string(response.status) +
                      (response.body.empty() ? "" : ": " + response.body.substr(0, 200)));
    }
    if (const auto session = response.header("mcp-session-id"); !session.empty()) {
      std::lock_guard lock(mutex_);
      session_id_ = session;
    }
    stream.finish();
    // A request whose SSE stream ended before its response: resume with GET + Last-Event-ID.
    for (int attempt = 0; stream.sse && !request_id.is_null() && !stream.answered &&
                          !stream.last_event_id.empty() && attempt < kMaxResumeAttempts;
         ++attempt) {
      if (!wait_retry(stream.retry_ms, cancelled)) return;
      resume(stream, cancelled);
    }
  }

  void initialized(const std::string& protocol_version) override {
    {
      std::lock_guard lock(mutex_);
      protocol_version_ = protocol_version;
    }
    get_thread_ = std::thread([this] { listen(); });
  }

  void close() noexcept override {
    if (closing_.exchange(true)) return;
    wake_.notify_all();
    if (get_thread_.joinable()) get_thread_.join();
    if (has_session()) {
      try {
        http::Request request;
        request.method = "DELETE";
        request.url = address_.url;
        request.headers = headers();
        request.timeout = std::chrono::milliseconds(2000);
        request.max_body = max_message_;
        (void)http::perform(request);
      } catch (const std::exception& error) {
        log_->debug("mcp: DELETE of the session failed: {}", error.what());
      }
    }
  }

 private:
  // One response body: JSON or an SSE stream (told apart by its first byte; the content type is
  // not known to the streaming callback).
  struct Stream {
    Stream(StreamableHttpTransport* owner_, Json id_) : owner(owner_), request_id(std::move(id_)) {}
    StreamableHttpTransport* owner;
    Json request_id;
    bool decided = false;
    bool sse = false;
    bool answered = false;
    bool resumed = false;
    std::string json;
    std::string last_event_id;
    long retry_ms = kDefaultRetryMs;
    std::optional<http::SseParser> reader;

    bool feed(std::string_view bytes) {
      if (!decided) {
        const auto first = bytes.find_first_not_of(" \t\r\n");
        if (first == std::string_view::npos) {
          if (json.size() + bytes.size() > owner->max_message_) {
            throw polaris::detail::message_too_large("a JSON response body", owner->max_message_);
          }
          json.append(bytes);
          return true;
        }
        decided = true;
        sse = bytes[first] != '{' && bytes[first] != '[';
        if (sse) {
          reader.emplace([this](const http::SseEvent& event) { on_event(event); },
                         [this](long ms) { retry_ms = ms; }, owner->max_message_);
        }
      }
      if (sse) {
        reader->feed(bytes);
      } else {
        if (json.size() + bytes.size() > owner->max_message_) {
          json = std::string();
          throw polaris::detail::message_too_large("a JSON response body", owner->max_message_);
        }
        json.append(bytes);
      }
      // A resumed stream (a GET the server may keep open) is left once it carried the answer.
      return !owner->closing_.load() && !(resumed && answered);
    }
    void on_event(const http::SseEvent& event) {
      if (event.has_id) last_event_id = event.id;
      if (!event.event.empty() && event.event != "message") return;
      if (event.data.empty()) return;
      Json message = polaris::detail::parse_untrusted_json(event.data);
      if (message.is_discarded()) {
        owner->log_->debug("mcp: ignoring a non-JSON SSE event");
        return;
      }
      note_answer(message);
      deliver(message, request_id, owner->on_message_, owner->log_);
    }
    void note_answer(const Json& message) {
      if (request_id.is_null()) return;
      const auto matches = [this](const Json& m) {
        return m.is_object() && !m.contains("method") && m.value("id", Json()) == request_id;
      };
      if (message.is_array()) {
        for (const auto& m : message) answered = answered || matches(m);
      } else {
        answered = answered || matches(message);
      }
    }
    void finish() {
      if (sse || json.find_first_not_of(" \t\r\n") == std::string::npos) return;
      Json message = polaris::detail::parse_untrusted_json(json);
      if (message.is_discarded()) {
        owner->log_->warn("mcp: the server's response is not JSON");
        return;
      }
      note_answer(message);
      deliver(message, request_id, owner->on_message_, owner->log_);
    }
  };

  std::vector<std::pair<std::string, std::string>> headers() const {
    auto list = address_.headers;
    std::lock_guard lock(mutex_);
    if (!session_id_.empty()) list.emplace_back("Mcp-Session-Id", session_id_);
    if (!protocol_version_.empty()) list.emplace_back("MCP-Protocol-Version", protocol_version_);
    return list;
  }

  bool has_session() const {
    std::lock_guard lock(mutex_);
    return !session_id_.empty();
  }

  // Waits the server's retry delay; false when closing or cancelled meanwhile.
  bool wait_retry(long ms, const std::function<bool()>& cancelled) {
    std::unique_lock lock(mutex_);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!closing_.load() && !(cancelled && cancelled())) {
      if (wake_.wait_until(lock, std::min(until, std::chrono::steady_clock::now() +
                                                     std::chrono::milliseconds(100))) ==
              std::cv_status::timeout &&
          std::chrono::steady_clock::now() >= until) {
        return true;
      }
    }
    return false;
  }

  // GET with Last-Event-ID; continues `stream`.
  void resume(Stream& stream, const std::function<bool()>& cancelled) {
    http::Request request;
    request.method = "GET";
    request.url = address_.url;
    request.headers = headers();
    request.headers.emplace_back("Accept", "text/event-stream");
    request.headers.emplace_back("Last-Event-ID", stream.last_event_id);
    request.connect_timeout = connect_timeout_;
    request.max_body = max_message_;
    request.cancelled = [this, &cancelled] {
      return closing_.load() || (cancelled && cancelled());
    };
    Stream next(this, stream.request_id);
    next.resumed = true;
    next.decided = true;
    next.sse = true;
    next.last_event_id = stream.last_event_id;
    next.retry_ms = stream.retry_ms;
    next.reader.emplace([&next](const http::SseEvent& event) { next.on_event(event); },
                        [&next](long ms) { next.retry_ms = ms; }, max_message_);
    try {
      const auto response =
          http::perform(request, [&next](std::string_view bytes) { return next.feed(bytes); });
      if (response.status < 200 || response.status >= 300) {
        log_->debug("mcp: resuming the stream answered HTTP {}", response.status);
        stream.last_event_id.clear();  // stop trying
        return;
      }
    } catch (const Error& error) {
      if (error.code() == Errc::payload_too_large) {
        throw too_large("mcp: GET " + address_.url + " (resuming a response)", error);
      }
      log_->debug("mcp: resuming the stream failed: {}", error.what());
    }
    stream.answered = stream.answered || next.answered;
    stream.last_event_id = next.last_event_id;
    stream.retry_ms = next.retry_ms;
  }

  // The standalone GET stream for server-initiated messages, reconnected until close().
  void listen() {
    std::string last_event_id;
    long retry_ms = kDefaultRetryMs;
    while (!closing_.load()) {
      http::Request request;
      request.method = "GET";
      request.url = address_.url;
      request.headers = headers();
      request.headers.emplace_back("Accept", "text/event-stream");
      if (!last_event_id.empty()) request.headers.emplace_back("Last-Event-ID", last_event_id);
      request.connect_timeout = connect_timeout_;
      request.max_body = max_message_;
      request.cancelled = [this] { return closing_.load(); };
      Stream stream(this, Json());
      stream.decided = true;
      stream.sse = true;
      stream.last_event_id = last_event_id;
      stream.retry_ms = retry_ms;
      stream.reader.emplace([&stream](const http::SseEvent& event) { stream.on_event(event); },
                            [&stream](long ms) { stream.retry_ms = ms; }, max_message_);
      try {
        const auto response = http::perform(
            request, [&stream](std::string_view bytes) { return stream.feed(bytes); });
        if (response.status == 405) {
          log_->debug("mcp: the server offers no GET stream");
          return;
        }
        if (response.status == 404 && has_session()) {
          if (on_closed_) on_closed_(Error(Errc::connection_lost, "the server ended the session"));
          return;
        }
        if (response.status < 200 || response.status >= 300) {
          log_->debug("mcp: the GET stream answered HTTP {}", response.status);
          return;
        }
      } catch (const Error& error) {
        // Server-initiated messages can no longer be trusted to arrive: end the session rather
        // than reconnect to a stream that sends the same again.
        if (error.code() == Errc::payload_too_large) {
          log_->warn("mcp: the GET stream of {}: {}", address_.url, error.what());
          if (on_closed_) on_closed_(too_large("GET " + address_.url, error));
          return;
        }
        log_->debug("mcp: the GET stream failed: {}", error.what());
      }
      last_event_id = stream.last_event_id;
      retry_ms = stream.retry_ms;
      if (!wait_retry(retry_ms, {})) return;
    }
  }

  ServerAddress address_;
  std::chrono::milliseconds connect_timeout_;
  std::size_t max_message_;
  Logger log_;
  OnMessage on_message_;
  OnClosed on_closed_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::string session_id_;
  std::string protocol_version_;
  std::atomic<bool> closing_{false};
  std::thread get_thread_;
};

// HTTP+SSE (2024-11-05): a GET event stream whose first event names the POST endpoint.
class SseTransport final : public ClientTransport {
 public:
  SseTransport(ServerAddress address, TransportSettings settings)
      : address_(std::move(address)),
        connect_timeout_(settings.connect_timeout),
        max_message_(settings.max_message_size),
        log_(std::move(settings.log)) {}
  ~SseTransport() override { close(); }
  SseTransport(const SseTransport&) = delete;
  SseTransport& operator=(const SseTransport&) = delete;

  void start(OnMessage on_message, OnClosed on_closed) override {
    on_message_ = std::move(on_message);
    on_closed_ = std::move(on_closed);
    reader_ = std::thread([this] { run(); });
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, connect_timeout_, [this] { return !endpoint_.empty() || ended_; }) ||
        endpoint_.empty()) {
      const Error why = failure_.value_or(Error(Errc::connection_failed, "no endpoint event"));
      lock.unlock();
      close();
      throw Error(why.code() == Errc::payload_too_large ? why.code() : Errc::connection_failed,
                  "mcp: SSE " + address_.url + ": " + why.what());
    }
  }

  void send(const Json& message, const std::function<bool()>& cancelled) override {
    std::string endpoint;
    {
      std::lock_guard lock(mutex_);
      if (ended_) {
        // The stream may have ended (and said why) before on_closed reached the client.
        throw Error(failure_ ? failure_->code() : Errc::connection_lost,
                    std::string("mcp: ") + (failure_ ? failure_->what() : "the SSE stream ended"));
      }
      endpoint = endpoint_;
    }
    http::Request request;
    request.method = "POST";
    request.url = endpoint;
    request.headers = address_.headers;
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = message.dump(-1, ' ', false, Json::error_handler_t::replace);
    request.connect_timeout = connect_timeout_;
    request.max_body = max_message_;
    request.cancelled = [this, &cancelled] {
      return closing_.load() || (cancelled && cancelled());
    };
    http::Response response;
    try {
      response = http::perform(request);
    } catch (const Error& error) {
      if (error.code() == Errc::payload_too_large) throw too_large("mcp: POST " + endpoint, error);
      throw;
    }
    if (!response.aborted && (response.status < 200 || response.status >= 300)) {
      throw Error(Errc::protocol,
                  "mcp: POST " + endpoint + " answered HTTP " + std::to_string(response.status));
    }
  }

  void close() noexcept override {
    if (closing_.exchange(true)) return;
    if (reader_.joinable()) reader_.join();
  }

 private:
  void run() {
    http::Request request;
    request.method = "GET";
    request.url = address_.url;
    request.headers = address_.headers;
    request.headers.emplace_back("Accept", "text/event-stream");
    request.connect_timeout = connect_timeout_;
    request.max_body = max_message_;
    request.cancelled = [this] { return closing_.load(); };
    http::SseParser reader(
        [this](const http::SseEvent& event) {
          if (event.event == "endpoint") {
            {
              std::lock_guard lock(mutex_);
              endpoint_ = resolve_url(address_.url, event.data);
            }
            cv_.notify_all();
            return;
          }
          if (!event.event.empty() && event.event != "message") return;
          Json message = polaris::detail::parse_untrusted_json(event.data);
          if (message.is_discarded()) return;
          deliver(message, Json(), on_message_, log_);
        },
        {}, max_message_);
    Error why(Errc::connection_lost, "the SSE stream ended");
    try {
      const auto response = http::perform(request, [&reader, this](std::string_view bytes) {
        reader.feed(bytes);
        return !closing_.load();
      });
      if (response.status < 200 || response.status >= 300) {
        why = Error(Errc::connection_lost, "HTTP " + std::to_string(response.status));
      }
    } catch (const Error& error) {
      why = error.code() == Errc::payload_too_large ? too_large("GET " + address_.url, error)
                                                    : Error(Errc::connection_lost, error.what());
    }
    {
      std::lock_guard lock(mutex_);
      ended_ = true;
      failure_ = why;
    }
    cv_.notify_all();
    if (!closing_.load() && on_closed_) on_closed_(why);
  }

  ServerAddress address_;
  std::chrono::milliseconds connect_timeout_;
  std::size_t max_message_;
  Logger log_;
  OnMessage on_message_;
  OnClosed on_closed_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string endpoint_;
  bool ended_ = false;
  std::optional<Error> failure_;  // why the stream ended
  std::atomic<bool> closing_{false};
  std::thread reader_;
};

}  // namespace

std::unique_ptr<ClientTransport> make_streamable_http_transport(const ServerAddress& address,
                                                                TransportSettings settings) {
  return std::make_unique<StreamableHttpTransport>(address, std::move(settings));
}

std::unique_ptr<ClientTransport> make_sse_transport(const ServerAddress& address,
                                                    TransportSettings settings) {
  return std::make_unique<SseTransport>(address, std::move(settings));
}

}  // namespace polaris::mcp::detail
