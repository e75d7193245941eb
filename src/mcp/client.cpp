// mcp/client.cpp - the MCP client session: initialize, requests matched by id, notifications.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

#include "common/log.hpp"
#include "mcp/client_transport.hpp"
#include "polaris/error.hpp"
#include "polaris/mcp.hpp"
#include "polaris/version.hpp"

namespace polaris::mcp {
namespace {

detail::TransportFactory& transport_factory() {
  static detail::TransportFactory factory;  // set by tests before any client exists
  return factory;
}

}  // namespace

void detail::set_transport_factory_for_testing(TransportFactory factory) {
  transport_factory() = std::move(factory);
}

// Thread safety: all members guarded by mutex_; transport callbacks run on transport threads.
class Client::Impl : public std::enable_shared_from_this<Client::Impl> {
 public:
  explicit Impl(ClientOptions options)
      : options_(std::move(options)), log_(polaris::detail::logger_or_default(options_.logger)) {}

  ~Impl() { close(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void connect() {
    const auto& server = options_.server;
    if (!server.command.empty() == !server.url.empty()) {
      throw Error(Errc::invalid_argument, "mcp: give either a command or a URL");
    }
    if (options_.max_message_size == 0) {
      throw Error(Errc::invalid_argument, "mcp: max_message_size must be positive");
    }
    detail::TransportSettings settings{.connect_timeout = options_.connect_timeout,
                                       .max_message_size = options_.max_message_size,
                                       .log = log_};
    if (transport_factory()) {
      transport_ = transport_factory()(server);
    } else if (!server.command.empty()) {
      transport_ = detail::make_stdio_transport(server, std::move(settings));
    } else if (server.sse) {
      transport_ = detail::make_sse_transport(server, std::move(settings));
    } else {
      transport_ = detail::make_streamable_http_transport(server, std::move(settings));
    }
    // The callbacks hold a weak reference: the transport may outlive nothing of ours.
    std::weak_ptr<Impl> weak = weak_from_this();
    transport_->start(
        [weak](const Json& message, const Json& request_id) {
          if (auto self = weak.lock()) self->on_message(message, request_id);
        },
        [weak](const Error& why) {
          if (auto self = weak.lock()) self->on_closed(why);
        });

    const std::string wanted = options_.protocol_version.empty()
                                   ? supported_protocol_versions().front()
                                   : options_.protocol_version;
    Json result;
    try {
      result = request(
          "initialize",
          {{"protocolVersion", wanted},
           {"capabilities", Json::object()},
           {"clientInfo",
            {{"name", options_.client_name}, {"version", std::string(polaris::version())}}}},
          options_.connect_timeout, {}, {});
    } catch (const Error& error) {
      throw Error(error.code() == Errc::tool_failed ? Errc::protocol : error.code(),
                  "mcp: initialize failed: " + std::string(error.what()));
    }
    if (!result.is_object() || !result.contains("protocolVersion") ||
        !result["protocolVersion"].is_string()) {
      throw Error(Errc::protocol, "mcp: the initialize result has no protocolVersion");
    }
    const auto version = result["protocolVersion"].get<std::string>();
    const auto& versions = supported_protocol_versions();
    if (std::find(versions.begin(), versions.end(), version) == versions.end()) {
      throw Error(Errc::protocol, "mcp: the server speaks protocol version " + version +
                                      ", which polaris does not support");
    }
    {
      std::lock_guard lock(mutex_);
      server_info_ = result;
      protocol_version_ = version;
    }
    transport_->initialized(version);
    notify("notifications/initialized", Json::object());
    const Json& info = result.contains("serverInfo") ? result["serverInfo"] : Json();
    log_->debug("mcp: initialized with {} (protocol {})",
                info.is_object() && info.contains("name") && info["name"].is_string()
                    ? info["name"].get<std::string>()
                    : "?",
                version);
  }

  Json request(const std::string& method, Json params,
               std::optional<std::chrono::milliseconds> timeout,
               const std::function<void(const Json&)>& on_progress,
               const std::function<void(const Json&)>& on_log) {
    auto pending = std::make_shared<Pending>();
    pending->on_progress = on_progress;
    pending->on_log = on_log;
    std::int64_t id = 0;
    {
      std::lock_guard lock(mutex_);
      if (closed_) throw Error(Errc::connection_lost, "mcp: the session is closed");
      if (!alive_) throw Error(closed_code_, "mcp: " + method + ": " + closed_why_);
      id = next_id_++;
      pending_[id] = pending;
    }
    if (!params.is_object()) params = Json::object();
    if (on_progress) params["_meta"]["progressToken"] = id;
    const Json message = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
    const auto deadline =
        std::chrono::steady_clock::now() + timeout.value_or(options_.request_timeout);
    const auto expired = [deadline] { return std::chrono::steady_clock::now() >= deadline; };
    try {
      transport_->send(message, expired);
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        pending_.erase(id);
      }
      std::lock_guard progress(pending->progress_mutex);
      pending->finished = true;
      throw;
    }
    std::unique_lock lock(mutex_);
    const bool done =
        cv_.wait_until(lock, deadline, [&] { return pending->done || !alive_ || closed_; });
    pending_.erase(id);
    lock.unlock();
    {
      std::lock_guard progress(pending->progress_mutex);
      pending->finished = true;
    }
    lock.lock();
    if (!pending->done) {
      const bool lost = !alive_ || closed_;
      const Errc code = closed_ ? Errc::connection_lost : closed_code_;
      lock.unlock();
      if (lost) throw Error(code, "mcp: " + method + ": " + closed_reason());
      (void)done;
      try {
        notify("notifications/cancelled", {{"requestId", id}, {"reason", "timed out"}});
      } catch (const Error& error) {
        log_->debug("mcp: sending notifications/cancelled failed: {}", error.what());
      }
      throw Error(Errc::timeout, "mcp: " + method + " timed out");
    }
    const Json response = std::move(pending->response);
    lock.unlock();
    if (auto error = response.find("error"); error != response.end()) {
      std::string text = "mcp error";
      if (error->is_object()) {
        const Json code = error->value("code", Json());
        const Json msg = error->value("message", Json());
        text = (code.is_number() ? code.dump() + ": " : std::string()) +
               (msg.is_string() ? msg.get<std::string>() : std::string("error"));
      }
      throw Error(Errc::tool_failed, text);
    }
    return response.value("result", Json::object());
  }

  void notify(const std::string& method, const Json& params) {
    Json message = {{"jsonrpc", "2.0"}, {"method", method}};
    if (!params.is_null()) message["params"] = params;
    transport_->send(message, {});
  }

  void on_notification(NotificationHandler handler) {
    std::lock_guard lock(mutex_);
    notification_handler_ = std::make_shared<NotificationHandler>(std::move(handler));
  }

  [[nodiscard]] bool alive() const {
    std::lock_guard lock(mutex_);
    return alive_ && !closed_;
  }

  [[nodiscard]] Json server_info() const {
    std::lock_guard lock(mutex_);
    return server_info_;
  }
  [[nodiscard]] std::string protocol_version() const {
    std::lock_guard lock(mutex_);
    return protocol_version_;
  }

  void close() noexcept {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
    }
    cv_.notify_all();
    if (transport_) transport_->close();
  }

  Json server_info_;

 private:
  struct Pending {
    bool done = false;
    Json response;
    std::function<void(const Json&)> on_progress;
    std::function<void(const Json&)> on_log;
    // on_progress and on_log run under progress_mutex and never once `finished` (the request
    // returned, so what the callbacks refer to may be gone).
    std::mutex progress_mutex;
    bool finished = false;
  };

  std::string closed_reason() const {
    std::lock_guard lock(mutex_);
    return closed_ ? "the session was closed" : closed_why_;
  }

  void on_message(const Json& message, const Json& request_id) {
    if (!message.is_object()) return;
    const auto method = message.find("method");
    const auto id = message.find("id");
    if (method != message.end() && method->is_string()) {
      if (id != message.end() && !id->is_null()) {
        answer_server_request(method->get<std::string>(), *id);
      } else {
        on_server_notification(method->get<std::string>(), message.value("params", Json::object()),
                               request_id);
      }
      return;
    }
    if (id == message.end() || !id->is_number_integer()) return;  // not one of our ids
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id->get<std::int64_t>());
    if (it == pending_.end()) return;  // late (timed out) or unknown
    it->second->response = message;
    it->second->done = true;
    cv_.notify_all();
  }

  void answer_server_request(const std::string& method, const Json& id) {
    Json reply = {{"jsonrpc", "2.0"}, {"id", id}};
    if (method == "ping") {
      reply["result"] = Json::object();
    } else if (method == "roots/list") {
      reply["result"] = {{"roots", Json::array()}};
    } else {
      reply["error"] = {{"code", -32601}, {"message", "method not found: " + method}};
    }
    try {
      transport_->send(reply, {});
    } catch (const Error& error) {
      log_->debug("mcp: answering {} failed: {}", method, error.what());
    }
  }

  void on_server_notification(const std::string& method, const Json& params,
                              const Json& request_id) {
    if (method == "notifications/progress") {
      const Json token = params.is_object() ? params.value("progressToken", Json()) : Json();
      std::shared_ptr<Pending> pending;
      {
        std::lock_guard lock(mutex_);
        if (token.is_number_integer()) {
          if (auto it = pending_.find(token.get<std::int64_t>()); it != pending_.end()) {
            pending = it->second;
          }
        }
      }
      if (pending) {
        std::lock_guard progress(pending->progress_mutex);
        if (!pending->finished && pending->on_progress) pending->on_progress(params);
      }
      return;
    }
    if (method == "notifications/message" && params.is_object()) relay_log(params, request_id);
    std::shared_ptr<NotificationHandler> handler;
    {
      std::lock_guard lock(mutex_);
      handler = notification_handler_;
    }
    if (handler && *handler) (*handler)(method, params);
  }

  // A log message carries no request id. Streamable HTTP sends one logged during a request on
  // that request's own stream (`request_id`): it is that request's. Otherwise (stdio, HTTP+SSE,
  // the GET stream) with one request that takes logs in flight, it is that request's; with
  // several, passing it to all would show one caller what another's call logged, so it stays in
  // our debug log.
  void relay_log(const Json& params, const Json& request_id) {
    std::shared_ptr<Pending> receiver;
    std::size_t receivers = 0;
    {
      std::lock_guard lock(mutex_);
      const auto own = request_id.is_number_integer()
                           ? pending_.find(request_id.get<std::int64_t>())
                           : pending_.end();
      if (own != pending_.end()) {
        if (own->second->on_log) {
          receiver = own->second;
          receivers = 1;
        }
      } else {
        for (const auto& [id, pending] : pending_) {
          if (!pending->on_log) continue;
          receiver = pending;
          ++receivers;
        }
      }
    }
    if (receivers == 1) {
      std::lock_guard progress(receiver->progress_mutex);
      if (!receiver->finished) {
        receiver->on_log(params);
        return;
      }
    }
    const auto level = params.find("level");
    log_->debug("mcp server log ({}; not relayed: {} requests in flight take logs): {}",
                level != params.end() && level->is_string() ? level->get<std::string>() : "info",
                receivers, params.value("data", Json()).dump());
  }

  void on_closed(const Error& error) {
    const std::string why = error.what();
    {
      std::lock_guard lock(mutex_);
      alive_ = false;
      closed_why_ = why;
      closed_code_ = error.code();
    }
    cv_.notify_all();
    log_->debug("mcp: the server went away: {}", why);
    std::shared_ptr<NotificationHandler> handler;
    {
      std::lock_guard lock(mutex_);
      handler = notification_handler_;
    }
    if (handler && *handler) (*handler)("polaris/closed", Json{{"reason", why}});
  }

  ClientOptions options_;
  Logger log_;
  std::unique_ptr<detail::ClientTransport> transport_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::int64_t, std::shared_ptr<Pending>> pending_;
  std::int64_t next_id_ = 1;
  bool alive_ = true;
  bool closed_ = false;
  std::string closed_why_ = "the server went away";
  Errc closed_code_ = Errc::connection_lost;
  std::string protocol_version_;
  std::shared_ptr<NotificationHandler> notification_handler_;
};

Client::Client(ClientOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {
  try {
    impl_->connect();
  } catch (...) {
    // Close here, joining the transport's threads: else a transport thread whose callback holds
    // the Impl for a moment could drop its last reference and destroy the transport on its own
    // thread, which cannot join itself (std::terminate).
    impl_->close();
    throw;
  }
}
Client::~Client() {
  if (impl_) impl_->close();
}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

const Json& Client::server_info() const { return impl_->server_info_; }
std::string Client::protocol_version() const { return impl_->protocol_version(); }

Json Client::request(const std::string& method, const Json& params,
                     std::optional<std::chrono::milliseconds> timeout,
                     const std::function<void(const Json&)>& on_progress,
                     const std::function<void(const Json&)>& on_log) {
  return impl_->request(method, params, timeout, on_progress, on_log);
}

void Client::notify(const std::string& method, const Json& params) {
  impl_->notify(method, params);
}

std::vector<Json> Client::list_tools() {
  std::vector<Json> tools;
  Json params = Json::object();
  for (int page = 0; page < 1000; ++page) {
    const Json result = impl_->request("tools/list", params, std::nullopt, {}, {});
    if (auto it = result.find("tools"); it != result.end() && it->is_array()) {
      for (const auto& tool : *it) {
        if (tool.is_object() && tool.contains("name") && tool["name"].is_string()) {
          tools.push_back(tool);
        }
      }
    }
    auto cursor = result.find("nextCursor");
    if (cursor == result.end() || !cursor->is_string() ||
        cursor->get_ref<const std::string&>().empty()) {
      break;
    }
    params["cursor"] = *cursor;
  }
  return tools;
}

Json Client::call_tool(const std::string& name, const Json& arguments,
                       std::optional<std::chrono::milliseconds> timeout,
                       const std::function<void(const Json&)>& on_progress,
                       const std::function<void(const Json&)>& on_log) {
  return impl_->request(
      "tools/call",
      {{"name", name}, {"arguments", arguments.is_object() ? arguments : Json::object()}}, timeout,
      on_progress, on_log);
}

void Client::on_notification(NotificationHandler handler) {
  impl_->on_notification(std::move(handler));
}
bool Client::alive() const { return impl_->alive(); }
void Client::close() { impl_->close(); }

}  // namespace polaris::mcp
