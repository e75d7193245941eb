#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "client/call_context.hpp"
#include "client/connection_events.hpp"
#include "client/connection_impl.hpp"
#include "client/tool_runner.hpp"
#include "common/log.hpp"
#include "polaris/error.hpp"
#include "protocol/wire.hpp"
#include "transport/nats_error.hpp"
#include "transport/nats_options.hpp"

namespace polaris {
namespace {

// A name the caller may use in a subject: the reference allows more than polaris tool names, so
// calls only refuse what would break the subject (empty, white space, wildcards).
void check_callable_name(std::string_view name) {
  if (name.empty()) throw Error(Errc::invalid_argument, "call: the tool name is empty");
  for (char c : name) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '*' || c == '>') {
      throw Error(Errc::invalid_argument, "call: '" + std::string(name) +
                                              "' cannot be a tool name (white space or wildcard)");
    }
  }
}

// `{}` in a call reads as a JSON null: take it for "no arguments".
const Json& or_empty_object(const Json& arguments) {
  static const Json empty = Json::object();  // immutable
  return arguments.is_null() ? empty : arguments;
}

// "<prefix>.<nuid>": natsInbox_Create always says "_INBOX.<nuid>", so swap in our prefix
// (security: per-user inbox prefixes, docs/SECURITY.md).
std::string new_inbox(const std::string& prefix) {
  natsInbox* inbox = nullptr;
  detail::check_nats(natsInbox_Create(&inbox), "cannot create an inbox");
  std::string text(inbox);
  natsInbox_Destroy(inbox);
  return prefix + text.substr(text.find('.'));
}

// Progress bodies are JSON objects; anything else is dropped (advisory, never fails the call).
detail::ProgressCallback progress_relay(const std::function<void(const Json&)>& on_progress) {
  if (!on_progress) return {};
  return [on_progress](std::string_view body) {
    Json message = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded() || !message.is_object()) return;
    try {
      on_progress(message);
    } catch (...) {  // NOLINT(bugprone-empty-catch): a caller's callback must not break delivery
    }
  };
}

Json reply_to_value(const std::string& name, const std::string& body) {
  Json reply = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded() || !reply.is_object()) {
    throw Error(Errc::protocol,
                "tool " + name + " answered with something that is not a JSON object");
  }
  if (auto error = reply.find(wire::kErrorKey); error != reply.end()) {
    throw Error(Errc::tool_failed, error->is_string() ? error->get<std::string>() : error->dump());
  }
  return reply;
}

}  // namespace

std::string server_url(std::string_view host, int port) {
  return "nats://" + std::string(host) + ":" + std::to_string(port);
}

Connection::Impl::Impl(ConnectOptions options)
    : options_(std::move(options)), log_(detail::logger_or_default(options_.logger)) {
  if (options_.request_timeout <= std::chrono::milliseconds::zero()) {
    throw Error(Errc::invalid_argument, "request_timeout must be positive");
  }
  const detail::NatsEventHandlers handlers{
      .disconnected = &detail::on_disconnected_event,
      .reconnected = &detail::on_reconnected_event,
      .closed = &detail::on_closed_event,
      .error = nullptr,
      .closure = this,
  };
  auto nats_options = detail::make_nats_options(options_, handlers);
  connection_ = detail::connect_nats(nats_options.get(), options_.servers);
  try {
    mux_ = std::make_unique<detail::RequestMux>(connection_.get(),
                                                new_inbox(detail::inbox_prefix_of(options_)));
    mux_ready_ = mux_.get();
  } catch (...) {
    natsConnection_Close(connection_.get());
    closed_event_.get_future().wait_for(std::chrono::seconds(5));
    throw;
  }
  discovery_ = std::make_unique<detail::ServiceDiscovery>(  // [observe]
      connection_.get(), detail::ServiceIdentity{.connection_name = options_.name}, log_);
  log_->debug("connected to {}", connected_url());
  if (options_.keepalive_interval > std::chrono::milliseconds::zero()) {
    keepalive_thread_ = std::thread([this] { run_keepalive(); });
  }
}

Connection::Impl::~Impl() {
  try {
    close();
  } catch (const std::exception& error) {  // destroyed from inside its own handler: a bug
    log_->error("destroying a connection: {}", error.what());
  }
}

void Connection::Impl::on_disconnected() {
  if (closed_) return;
  log_->warn("disconnected from the registry; reconnecting");
  // Fail calls in flight now, so callers can retry on the next node instead of waiting out
  // their timeout.
  detail::RequestMux* mux = mux_ready_.load();
  if (mux == nullptr) return;
  mux->fail_all(Errc::connection_lost, "the connection to the registry was lost");
}

void Connection::Impl::on_reconnected() {
  log_->info("reconnected to {}", connected_url());
  // The node we reached may have restarted with an empty catalogue: refresh it now.
  {
    std::lock_guard lock(keepalive_mutex_);
    keepalive_now_ = true;
  }
  keepalive_cv_.notify_all();
}

void Connection::Impl::on_closed() { closed_event_.set_value(); }

std::chrono::milliseconds Connection::Impl::timeout_of(const CallOptions& options) const {
  return options.timeout.value_or(options_.request_timeout);
}

Json Connection::Impl::registry_request(std::string_view subject, const Json& body) {
  // Shared with the callback: the completing thread may still be inside set_value() when the
  // waiter wakes up and returns.
  auto reply = std::make_shared<std::promise<std::string>>();
  auto future = reply->get_future();
  const std::string subject_text(subject);
  mux_->request(subject_text, body.is_null() ? std::string() : body.dump(),
                options_.request_timeout, {}, [reply](detail::ReplyOutcome outcome) {
                  if (auto* text = std::get_if<std::string>(&outcome)) {
                    reply->set_value(std::move(*text));
                  } else {
                    reply->set_exception(std::make_exception_ptr(std::get<Error>(outcome)));
                  }
                });
  std::string text;
  try {
    text = future.get();
  } catch (const Error& error) {
    if (error.code() == Errc::no_such_tool) {
      throw Error(Errc::no_registry, "no registry answers on " + subject_text);
    }
    throw;
  }
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    throw Error(Errc::protocol, "the registry's reply on " + subject_text + " is not JSON");
  }
  return json;
}

void Connection::Impl::registry_status_request(std::string_view subject, const Json& body) {
  const Json reply = registry_request(subject, body);
  const auto success = reply.find("success");
  if (!reply.is_object() || success == reply.end() || !success->is_boolean()) {
    throw Error(Errc::protocol,
                "the registry's reply on " + std::string(subject) + " has no boolean \"success\"");
  }
  if (!success->get<bool>()) {
    const auto msg = reply.find("msg");
    throw Error(Errc::registration_failed,
                msg != reply.end() && msg->is_string() ? msg->get<std::string>() : "refused");
  }
}

void Connection::Impl::register_tool(Tool tool) {
  if (!is_valid_tool_name(tool.name)) {
    throw Error(Errc::invalid_argument, "register: invalid tool name '" + tool.name +
                                            "': it must match ^[A-Za-z_][A-Za-z0-9_-]{0,63}$");
  }
  if (!tool.handler) {
    throw Error(Errc::invalid_argument, "register: tool " + tool.name + " has no handler");
  }
  if (closed_) throw Error(Errc::not_connected, "the connection is closed");
  std::lock_guard registration(registration_mutex_);
  if (find_local(tool.name)) {
    throw Error(Errc::registration_failed,
                "register: " + tool.name + " already registered on this connection");
  }
  if (!tool.declaration_extra.is_object()) {
    throw Error(Errc::invalid_argument,
                "register: declaration_extra of " + tool.name + " must be a JSON object");
  }
  auto local = std::make_shared<LocalTool>();
  local->declaration = ToolDeclaration{.name = tool.name,
                                       .description = tool.description,
                                       .parameters = tool.parameters.to_json(),
                                       .response = tool.response.to_json(),
                                       .extra = tool.declaration_extra}
                           .to_json();
  local->tool = std::move(tool);
  const std::string& name = local->tool.name;
  local->stats = detail::instrument(local->tool);  // [observe] wraps the handler to count calls

  local->pool =
      std::make_unique<detail::WorkerPool>(local->tool.concurrency, local->tool.concurrency);
  // Subscribe, then register (see CallGate): calls that arrive meanwhile are held.
  const std::int64_t payload_limit = max_payload();
  auto dispatch = [connection = connection_.get(), payload_limit, log = log_, closing = &closed_](
                      LocalTool& served, detail::NatsMsgPtr msg) {
    // std::function needs a copyable job: share the message.
    std::shared_ptr<natsMsg> shared(msg.release(), detail::NatsMsgDeleter{});
    const bool accepted =
        served.pool->try_submit([&served, shared, connection, payload_limit, log, closing] {
          detail::serve_call(connection, shared.get(), served.tool, payload_limit, log, closing);
        });
    if (!accepted) {
      served.stats->record_busy("busy");  // [observe]
      detail::refuse_busy(connection, shared.get(), served.tool, served.pool->load(), log);
    }
  };
  std::weak_ptr<LocalTool> weak = local;
  local->subscription = detail::Subscription(
      connection_.get(), wire::tool_subject(name), "", [weak, dispatch](detail::NatsMsgPtr msg) {
        if (auto served = weak.lock()) {
          if (auto admitted = served->gate.admit(std::move(msg))) {
            dispatch(*served, std::move(admitted));
          }
        }
      });
  try {
    registry_status_request(wire::kRegisterSubject, local->declaration);
  } catch (...) {
    local->gate.close();
    local->subscription.unsubscribe();
    throw;
  }
  for (auto& held : local->gate.open()) dispatch(*local, std::move(held));
  {
    std::unique_lock lock(tools_mutex_);
    tools_.emplace(name, local);
  }
  // [observe] the tool becomes an endpoint of this agent's NATS service ($SRV.INFO/STATS).
  if (discovery_) {
    discovery_->add_endpoint(name, wire::tool_subject(name), "", local->tool.description,
                             local->stats);
  }
  log_->info("registered tool {}", name);
}

void Connection::Impl::unregister_locked(const std::string& name) {
  std::shared_ptr<LocalTool> local;
  {
    std::unique_lock lock(tools_mutex_);
    auto it = tools_.find(name);
    if (it == tools_.end()) return;
    // Draining waits for the tool's handlers, so a handler cannot wait for its own drain.
    if (it->second->pool->on_worker_thread()) {
      throw Error(Errc::invalid_argument, "unregister: " + name +
                                              " cannot be unregistered (or its connection "
                                              "closed) from inside its own handler");
    }
    local = std::move(it->second);
    tools_.erase(it);
  }
  if (discovery_) discovery_->remove_endpoint(name);  // [observe]
  // Stop taking calls, let those in flight finish, then leave the catalogue.
  local->subscription.unsubscribe();
  if (!local->pool->drain(options_.drain_timeout)) {
    log_->warn("tool {}: calls still running after {} ms; unregistering anyway", name,
               options_.drain_timeout.count());
  }
  if (natsConnection_Status(connection_.get()) != NATS_CONN_STATUS_CONNECTED) {
    log_->warn("not connected: tool {} stays in the catalogue until its keepalive deadline", name);
  } else {
    try {
      registry_status_request(wire::kUnregisterSubject, Json{{"name", name}});
      log_->info("unregistered tool {}", name);
    } catch (const Error& error) {
      log_->warn("unregister {}: {}", name, error.what());
    }
  }
  // Handlers use the connection: wait for the last ones before it can close.
  local->pool.reset();
}

void Connection::Impl::unregister_tool(std::string_view name) {
  std::lock_guard registration(registration_mutex_);
  if (!find_local(name)) {
    throw Error(Errc::invalid_argument,
                "unregister: " + std::string(name) + " is not a tool of this connection");
  }
  unregister_locked(std::string(name));
}

void Connection::Impl::unregister_all() {
  std::lock_guard registration(registration_mutex_);
  std::optional<Error> first_error;
  for (const auto& name : local_tools()) {
    try {
      unregister_locked(name);
    } catch (const Error& error) {  // go on with the other tools, report the first failure
      if (!first_error) first_error = error;
    }
  }
  if (first_error) throw *first_error;
}

std::vector<std::string> Connection::Impl::local_tools() const {
  std::shared_lock lock(tools_mutex_);
  std::vector<std::string> names;
  names.reserve(tools_.size());
  for (const auto& [name, tool] : tools_) names.push_back(name);
  return names;
}

std::shared_ptr<Connection::Impl::LocalTool> Connection::Impl::find_local(
    std::string_view name) const {
  std::shared_lock lock(tools_mutex_);
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : it->second;
}

std::vector<ToolDeclaration> Connection::Impl::list_tools() {
  if (closed_) throw Error(Errc::not_connected, "the connection is closed");
  const Json reply = registry_request(wire::kListSubject, nullptr);
  std::vector<ToolDeclaration> tools;
  if (reply.is_null()) return tools;  // a Go registry encodes an empty catalogue as null
  if (!reply.is_array()) {
    if (reply.is_object() && reply.contains("msg") && reply["msg"].is_string()) {
      throw Error(Errc::protocol, "list: " + reply["msg"].get<std::string>());
    }
    throw Error(Errc::protocol, "the registry's tool list is not a JSON array");
  }
  tools.reserve(reply.size());
  for (const auto& item : reply) {
    try {
      tools.push_back(ToolDeclaration::from_json(item));
    } catch (const Error& error) {
      log_->warn("skipping a malformed catalogue entry: {}", error.what());
    }
  }
  return tools;
}

void Connection::Impl::remote_call(const std::string& name, const Json& arguments,
                                   CallOptions options, std::function<void(Json)> on_value,
                                   std::function<void(std::exception_ptr)> on_error) {
  if (closed_) throw Error(Errc::not_connected, "the connection is closed");
  if (!arguments.is_object() && !arguments.is_null()) {
    throw Error(Errc::invalid_argument, "call " + name + ": the arguments must be a JSON object");
  }
  const std::string body = arguments.is_null() ? std::string("{}") : arguments.dump();
  if (static_cast<std::int64_t>(body.size()) > max_payload()) {
    throw Error(Errc::payload_too_large, "call " + name + ": the request of " +
                                             std::to_string(body.size()) +
                                             " bytes exceeds the max payload of " +
                                             std::to_string(max_payload()) + " bytes");
  }
  const auto timeout = timeout_of(options);
  mux_->request(
      wire::tool_subject(name), body, timeout,
      {{wire::kTimeoutHeader, std::to_string(timeout.count())}},
      [name, on_value = std::move(on_value),
       on_error = std::move(on_error)](detail::ReplyOutcome outcome) {
        if (auto* error = std::get_if<Error>(&outcome)) {
          if (error->code() == Errc::no_such_tool) {
            on_error(std::make_exception_ptr(Error(Errc::no_such_tool, "no such tool: " + name)));
          } else {
            on_error(std::make_exception_ptr(*error));
          }
          return;
        }
        try {
          on_value(reply_to_value(name, std::get<std::string>(outcome)));
        } catch (...) {
          on_error(std::current_exception());
        }
      },
      progress_relay(options.on_progress));
}

Json Connection::Impl::call(std::string_view name, const Json& arguments, CallOptions options) {
  check_callable_name(name);
  if (auto local = find_local(name)) {
    Request::Context context;
    context.deadline = std::chrono::steady_clock::now() + timeout_of(options);
    context.closing = &closed_;
    context.local_progress = options.on_progress;
    return reply_to_value(
        local->tool.name,
        detail::run_tool(local->tool, or_empty_object(arguments), log_, &context).dump());
  }
  return call_async(name, arguments, options).get();
}

std::future<Json> Connection::Impl::call_async(std::string_view name, const Json& arguments,
                                               CallOptions options) {
  check_callable_name(name);
  if (auto local = find_local(name)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_of(options);
    return std::async(
        std::launch::async, [local, args = or_empty_object(arguments), log = log_, deadline,
                             closing = &closed_, on_progress = options.on_progress] {
          Request::Context context;
          context.deadline = deadline;
          context.closing = closing;
          context.local_progress = on_progress;
          return reply_to_value(local->tool.name,
                                detail::run_tool(local->tool, args, log, &context).dump());
        });
  }
  auto promise = std::make_shared<std::promise<Json>>();
  auto future = promise->get_future();
  remote_call(
      std::string(name), arguments, options,
      [promise](Json value) { promise->set_value(std::move(value)); },
      [promise](std::exception_ptr error) { promise->set_exception(std::move(error)); });
  return future;
}

std::string Connection::Impl::connected_url() const {
  std::array<char, 512> buffer{};
  if (natsConnection_GetConnectedUrl(connection_.get(), buffer.data(), buffer.size()) != NATS_OK) {
    return {};
  }
  return buffer.data();
}

bool Connection::Impl::connected() const {
  return !closed_ && natsConnection_Status(connection_.get()) == NATS_CONN_STATUS_CONNECTED;
}

std::int64_t Connection::Impl::max_payload() const {
  return natsConnection_GetMaxPayload(connection_.get());
}

void Connection::Impl::run_keepalive() {
  std::unique_lock lock(keepalive_mutex_);
  for (;;) {
    keepalive_cv_.wait_for(lock, options_.keepalive_interval,
                           [this] { return keepalive_stop_ || keepalive_now_; });
    if (keepalive_stop_) return;
    keepalive_now_ = false;
    lock.unlock();
    Json declarations = Json::array();
    {
      std::shared_lock tools_lock(tools_mutex_);
      for (const auto& [name, local] : tools_) declarations.push_back(local->declaration);
    }
    if (!declarations.empty()) {
      try {
        registry_status_request(wire::kKeepaliveSubject, declarations);
      } catch (const Error& error) {
        log_->warn("keepalive of {} tool(s) failed: {}", declarations.size(), error.what());
      }
    }
    lock.lock();
  }
}

bool Connection::Impl::on_own_handler_thread() const {
  std::shared_lock lock(tools_mutex_);
  return std::any_of(tools_.begin(), tools_.end(),
                     [](const auto& entry) { return entry.second->pool->on_worker_thread(); });
}

void Connection::Impl::close() {
  // Closing waits for the handlers and then closes the connection their replies need.
  if (on_own_handler_thread()) {
    throw Error(Errc::invalid_argument,
                "close: a connection cannot be closed from inside one of its tool handlers");
  }
  if (closed_.exchange(true)) return;
  {
    std::lock_guard lock(keepalive_mutex_);
    keepalive_stop_ = true;
  }
  keepalive_cv_.notify_all();
  if (keepalive_thread_.joinable()) keepalive_thread_.join();
  // closed_ refuses new user calls; the unregistrations below still use the mux.
  try {
    unregister_all();
  } catch (const std::exception& error) {
    log_->warn("close: {}", error.what());
  }
  {  // [observe] stop answering $SRV while still connected
    std::lock_guard registration(registration_mutex_);
    discovery_.reset();
  }
  mux_ready_ = nullptr;
  mux_->close();
  natsConnection_Close(connection_.get());
  if (closed_event_.get_future().wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    log_->error(
        "nats.c did not report the connection closed; leaking it rather than risking a "
        "use after free");
    (void)connection_.release();
    return;
  }
  connection_.reset();
}

Connection::Connection(ConnectOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

void Connection::register_tool(Tool tool) { impl_->register_tool(std::move(tool)); }
void Connection::unregister_tool(std::string_view name) { impl_->unregister_tool(name); }
void Connection::unregister_all() { impl_->unregister_all(); }
std::vector<std::string> Connection::local_tools() const { return impl_->local_tools(); }
std::vector<ToolDeclaration> Connection::list_tools() { return impl_->list_tools(); }
Json Connection::call(std::string_view name, const Json& arguments, CallOptions options) {
  return impl_->call(name, arguments, options);
}
std::future<Json> Connection::call_async(std::string_view name, const Json& arguments,
                                         CallOptions options) {
  return impl_->call_async(name, arguments, options);
}
std::string Connection::connected_url() const { return impl_->connected_url(); }
bool Connection::connected() const { return impl_->connected(); }
std::int64_t Connection::max_payload() const { return impl_->max_payload(); }
void Connection::close() { impl_->close(); }

}  // namespace polaris
