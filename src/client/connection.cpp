#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "client/agent_id.hpp"
#include "client/call_context.hpp"
#include "client/connection_events.hpp"
#include "client/connection_impl.hpp"
#include "client/tool_runner.hpp"
#include "common/log.hpp"
#include "common/untrusted_json.hpp"
#include "polaris/error.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"
#include "transport/message.hpp"
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
    Json message = polaris::detail::parse_untrusted_json(body);
    if (message.is_discarded() || !message.is_object()) return;
    try {
      on_progress(message);
    } catch (...) {  // NOLINT(bugprone-empty-catch): a caller's callback must not break delivery
    }
  };
}

Json reply_to_value(const std::string& name, const std::string& body) {
  Json reply = polaris::detail::parse_untrusted_json(body);
  if (reply.is_discarded() || !reply.is_object()) {
    throw Error(Errc::protocol,
                "tool " + name + " answered with something that is not a JSON object");
  }
  if (auto error = wire::ErrorReply::from_json(reply)) {
    throw Error(Errc::tool_failed, std::move(error->message));
  }
  return reply;
}

}  // namespace

std::string server_url(std::string_view host, int port) {
  return "nats://" + std::string(host) + ":" + std::to_string(port);
}

Connection::Impl::Impl(ConnectOptions options)
    : options_(std::move(options)),
      log_(detail::logger_or_default(options_.logger)),
      agent_id_(detail::agent_namespace_of(options_).empty()
                    ? detail::new_agent_id()
                    : detail::agent_namespace_of(options_) + "." + detail::new_agent_id()),
      user_(detail::agent_namespace_of(options_)) {
  if (options_.request_timeout <= std::chrono::milliseconds::zero()) {
    throw Error(Errc::invalid_argument, "request_timeout must be positive");
  }
  if (options_.registry_wait < std::chrono::milliseconds::zero()) {
    throw Error(Errc::invalid_argument, "registry_wait must not be negative");
  }
  const detail::NatsEventHandlers handlers{
      .disconnected = &detail::on_disconnected_event,
      .reconnected = &detail::on_reconnected_event,
      .closed = &detail::on_closed_event,
      .error = &detail::on_error_event,
      .closure = this,
  };
  // The agent id in the connection name lets registries see at once that this agent's
  // connection closed (docs/PROTOCOL.md, "Liveness").
  auto nats_options = detail::make_nats_options(options_, handlers, agent_id_);
  connection_ = detail::connect_nats(nats_options.get(), options_.servers);
  try {
    mux_ = std::make_unique<detail::RequestMux>(connection_.get(),
                                                new_inbox(detail::inbox_prefix_of(options_)));
    timer_ = std::make_unique<detail::Timer>();
    call_server_ =
        std::make_unique<detail::CallServer>(connection_.get(), agent_id_, *timer_, log_, &closed_);
    agent_subscription_ =
        detail::Subscription(connection_.get(), wire::agent_subject_prefix(agent_id_) + ">", "",
                             [this](detail::NatsMsgPtr msg) { on_agent_message(std::move(msg)); });
    gone_subscription_ = detail::Subscription(
        connection_.get(), std::string(wire::kAgentGoneSubject), "",
        [this](detail::NatsMsgPtr msg) {
          const auto gone =
              wire::AgentGone::from_json(wire::parse_body(detail::message_body(msg.get())));
          // An agent that left on purpose drains the calls it took and answers them; the ones
          // it did not take it answers "no such tool". Only a crash leaves calls unanswered.
          if (!gone || gone->departed) return;
          std::map<std::string, bool> tools;  // name -> idempotent
          for (const auto& tool : gone->tools) tools[tool.name] = tool.idempotent;
          if (detail::RequestMux* mux = mux_ready_.load()) mux->agent_gone(gone->agent, tools);
        });
    back_subscription_ =
        detail::Subscription(connection_.get(), std::string(wire::kAgentBackSubject), "",
                             [this](detail::NatsMsgPtr msg) { on_agent_back(std::move(msg)); });
    ask_subscription_ =
        detail::Subscription(connection_.get(), std::string(wire::kCallerAskSubject), "",
                             [this](detail::NatsMsgPtr msg) { on_caller_ask(std::move(msg)); });
    // The agents' answers to our own asks (mux_'s "<inbox>.*" ignores this non-numeric token).
    answers_subscription_ = detail::Subscription(
        connection_.get(), mux_->inbox() + "." + std::string(wire::kCallerAskReplyToken), "",
        [this](detail::NatsMsgPtr msg) { on_agent_back(std::move(msg)); });
    mux_ready_ = mux_.get();
  } catch (...) {
    agent_subscription_.unsubscribe();
    gone_subscription_.unsubscribe();
    back_subscription_.unsubscribe();
    ask_subscription_.unsubscribe();
    answers_subscription_.unsubscribe();
    if (timer_) timer_->stop();
    natsConnection_Close(connection_.get());
    closed_event_.get_future().wait_for(std::chrono::seconds(5));
    throw;
  }
  discovery_ = std::make_unique<detail::ServiceDiscovery>(  // [observe]
      connection_.get(), detail::agent_service_identity(agent_id_, options_.name), log_);
  log_->debug("connected to {} as agent {}", connected_url(), agent_id_);
  start_liveness();
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
  // mux_ready_ is set once everything the events use exists.
  detail::RequestMux* mux = mux_ready_.load();
  if (mux == nullptr) return;
  call_server_->publisher().on_disconnected();
  // Calls without retry fail now, so callers can act at once instead of waiting out their
  // timeout; the others wait for the connection to come back.
  mux->on_disconnected();
}

void Connection::Impl::on_reconnected() {
  log_->info("reconnected to {}", connected_url());
  detail::RequestMux* mux = mux_ready_.load();
  if (mux == nullptr) return;
  // Replies sent just before the disconnect may have been lost with the node.
  announce_back(call_server_->on_reconnected());
  if (mux->on_reconnected() > 0) {
    // Calls sent before the drop and not acknowledged: the agents that have them (their
    // acknowledgements died with our node) name them, and the mux retries those on them. They
    // answer only below our inbox (wire::kCallerAskSubject).
    const std::string body = wire::CallerAsk{mux->inbox()}.to_json().dump();
    const std::string reply = mux->inbox() + "." + std::string(wire::kCallerAskReplyToken);
    (void)natsConnection_PublishRequest(connection_.get(), wire::kCallerAskSubject.data(),
                                        reply.c_str(), body.data(), static_cast<int>(body.size()));
  }
  // The node we reached may have restarted with an empty catalogue: refresh it now.
  keepalive_soon();
}

void Connection::Impl::on_closed() {
  // nats.c gave up reconnecting (or we closed): calls kept for a retry cannot succeed.
  if (detail::RequestMux* mux = mux_ready_.load()) {
    mux->fail_all(Errc::connection_lost, "the connection to the registry was closed");
  }
  closed_event_.set_value();
}

void Connection::Impl::on_async_error(natsStatus status, const std::string& subject,
                                      const std::string& reason) {
  if (status == NATS_SLOW_CONSUMER) {
    // Messages were dropped: calls to this subject will time out at their callers.
    log_->warn("messages on {} were dropped: this program cannot keep up ({})",
               subject.empty() ? std::string("a subscription") : subject, reason);
    return;
  }
  const auto denied =
      status == NATS_NOT_PERMITTED ? detail::denied_publish_subject(reason) : std::nullopt;
  if (!denied) {
    log_->warn("the server reported: {}", reason);
    return;
  }
  detail::RequestMux* mux = mux_ready_.load();
  if (mux == nullptr) {
    log_->debug("the server refused a publication: {}", reason);
  } else if (mux->publish_denied(*denied, reason) > 0) {
    log_->warn("the server refused a request: {}", reason);
  } else {
    // Not a request of ours: a reply (or acknowledgement) to a call this connection did not
    // receive, which NATS permissions refuse: published after a reconnect, or after the
    // response window. Its caller is asked to send the call again, and the reply cache answers.
    log_->debug("the server refused a publication: {}", reason);
    ask_again(*denied);
  }
}

std::chrono::milliseconds Connection::Impl::timeout_of(std::string_view name,
                                                       const CallOptions& options) const {
  return known_timeout(name, options).value_or(options_.request_timeout);
}

std::optional<std::chrono::milliseconds> Connection::Impl::known_timeout(
    std::string_view name, const CallOptions& options) const {
  if (options.timeout) return *options.timeout;
  if (auto local = find_local(name); local && local->tool.timeout.count() > 0) {
    return local->tool.timeout;
  }
  std::lock_guard lock(timeouts_mutex_);
  const auto declared = declared_timeouts_.find(name);
  if (declared == declared_timeouts_.end()) {
    // A name a polaris registry would refuse is not looked up there.
    if (timeout_lookups_unsupported_ || !is_valid_tool_name(name)) return options_.request_timeout;
    return std::nullopt;
  }
  return declared->second.count() > 0 ? declared->second : options_.request_timeout;
}

Json Connection::Impl::registry_request(std::string_view subject, const std::string& body,
                                        const RegistryAttempt& attempt) {
  // Shared with the callback: the completing thread may still be inside set_value() when the
  // waiter wakes up and returns.
  auto reply = std::make_shared<std::promise<std::string>>();
  auto future = reply->get_future();
  const std::string subject_text(subject);
  mux_->request(
      subject_text, body, attempt.timeout.value_or(options_.request_timeout),
      [reply](detail::ReplyOutcome outcome) {
        if (auto* text = std::get_if<std::string>(&outcome)) {
          reply->set_value(std::move(*text));
        } else {
          reply->set_exception(std::make_exception_ptr(std::get<Error>(outcome)));
        }
      },
      detail::RequestOptions{.retry = attempt.retry});
  std::string text;
  try {
    text = future.get();
  } catch (const Error& error) {
    if (error.code() == Errc::no_such_tool) {
      throw Error(Errc::no_registry, "no registry answers on " + subject_text);
    }
    throw;
  }
  Json json = polaris::detail::parse_untrusted_json(text);
  if (json.is_discarded()) {
    throw Error(Errc::protocol, "the registry's reply on " + subject_text + " is not JSON");
  }
  return json;
}

std::string Connection::Impl::write_subject(std::string_view verb, std::string_view shared) const {
  if (user_.empty() || !user_subjects_) return std::string(shared);
  return wire::user_subject(user_, verb);
}

void Connection::Impl::registry_status_request(std::string_view subject, const Json& body) {
  const auto status = wire::StatusReply::from_json(registry_request(subject, body.dump()));
  if (!status) {
    throw Error(Errc::protocol,
                "the registry's reply on " + std::string(subject) + " has no boolean \"success\"");
  }
  if (!status->success) throw Error(Errc::registration_failed, status->msg);
}

void Connection::Impl::remote_call(const std::string& name, const Json& arguments,
                                   const CallOptions& options, std::function<void(Json)> on_value,
                                   std::function<void(std::exception_ptr)> on_error) {
  if (closed_) throw Error(Errc::not_connected, "the connection is closed");
  if (!arguments.is_object() && !arguments.is_null()) {
    throw Error(Errc::invalid_argument, "call " + name + ": the arguments must be a JSON object");
  }
  std::string body = arguments.is_null() ? std::string("{}") : arguments.dump();
  if (static_cast<std::int64_t>(body.size()) > max_payload()) {
    throw Error(Errc::payload_too_large, "call " + name + ": the request of " +
                                             std::to_string(body.size()) +
                                             " bytes exceeds the max payload of " +
                                             std::to_string(max_payload()) + " bytes");
  }
  if (const auto timeout = known_timeout(name, options)) {
    send_call(name, body, options, *timeout, std::move(on_value), std::move(on_error));
    return;
  }
  // A caller that never listed learns the tool's declared timeout first (once per name).
  look_up_timeout(name, [this, name, body = std::move(body), options,
                         on_value = std::move(on_value), on_error]() mutable {
    try {
      send_call(name, body, options, timeout_of(name, options), std::move(on_value), on_error);
    } catch (...) {
      on_error(std::current_exception());
    }
  });
}

void Connection::Impl::send_call(const std::string& name, const std::string& body,
                                 const CallOptions& options, std::chrono::milliseconds timeout,
                                 std::function<void(Json)> on_value,
                                 std::function<void(std::exception_ptr)> on_error) {
  if (closed_) throw Error(Errc::not_connected, "the connection is closed");
  detail::RequestOptions request{
      .headers = {{wire::kTimeoutHeader, std::to_string(timeout.count())}},
      .progress = progress_relay(options.on_progress),
      .call_id = agent_id_ + "-" + std::to_string(++call_sequence_),
      .retry = options.retry,
      .tool = name,
  };
  request.headers.emplace_back(wire::kCallIdHeader, request.call_id);
  if (!options.chain.empty()) {
    request.headers.emplace_back(wire::kChainHeader, wire::format_chain(options.chain));
  }
  mux_->request(
      wire::tool_subject(name), body, timeout,
      [name, timeout, on_value = std::move(on_value),
       on_error = std::move(on_error)](detail::ReplyOutcome outcome) {
        if (auto* error = std::get_if<Error>(&outcome)) {
          if (error->code() == Errc::no_such_tool) {
            on_error(std::make_exception_ptr(Error(Errc::no_such_tool, "no such tool: " + name)));
          } else if (error->code() == Errc::timeout) {
            // The tool, not its subject: callers know tools by name.
            on_error(std::make_exception_ptr(Error(
                Errc::timeout,
                "call " + name + ": no reply within " + std::to_string(timeout.count()) + " ms")));
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
      std::move(request));
}

Json Connection::Impl::call(std::string_view name, const Json& arguments,
                            const CallOptions& options) {
  check_callable_name(name);
  if (auto local = find_local(name)) {
    Request::Context context;
    context.deadline = std::chrono::steady_clock::now() + timeout_of(name, options);
    context.closing = &closed_;
    context.local_progress = options.on_progress;
    context.chain = options.chain;
    return reply_to_value(local->tool.name,
                          detail::run_tool(local->tool, or_empty_object(arguments), log_, &context,
                                           local->stats.get())
                              .dump());
  }
  return call_async(name, arguments, options).get();
}

std::future<Json> Connection::Impl::call_async(std::string_view name, const Json& arguments,
                                               const CallOptions& options) {
  check_callable_name(name);
  if (auto local = find_local(name)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_of(name, options);
    return std::async(
        std::launch::async,
        [local, args = or_empty_object(arguments), log = log_, deadline, closing = &closed_,
         on_progress = options.on_progress, chain = options.chain] {
          Request::Context context;
          context.deadline = deadline;
          context.closing = closing;
          context.local_progress = on_progress;
          context.chain = chain;
          return reply_to_value(
              local->tool.name,
              detail::run_tool(local->tool, args, log, &context, local->stats.get()).dump());
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
  // No more heartbeats, keepalives or acks; then no more direct calls.
  timer_->stop();
  agent_subscription_.unsubscribe();
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
  {
    std::lock_guard lock(revoked_mutex_);
    revoked_.clear();  // waits for their last calls
  }
  gone_subscription_.unsubscribe();
  back_subscription_.unsubscribe();
  ask_subscription_.unsubscribe();
  answers_subscription_.unsubscribe();
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

void Connection::register_tool(Tool tool) {
  std::vector<Tool> tools;
  tools.push_back(std::move(tool));
  impl_->register_tools(std::move(tools));
}
void Connection::register_tools(std::vector<Tool> tools) {
  impl_->register_tools(std::move(tools));
}
void Connection::unregister_tool(std::string_view name) { impl_->unregister_tool(name); }
void Connection::unregister_all() { impl_->unregister_all(); }
std::vector<std::string> Connection::local_tools() const { return impl_->local_tools(); }
std::vector<ToolDeclaration> Connection::list_tools() { return impl_->list_tools(); }
Json Connection::call(std::string_view name, const Json& arguments, const CallOptions& options) {
  return impl_->call(name, arguments, options);
}
std::future<Json> Connection::call_async(std::string_view name, const Json& arguments,
                                         const CallOptions& options) {
  return impl_->call_async(name, arguments, options);
}
std::string Connection::connected_url() const { return impl_->connected_url(); }
bool Connection::connected() const { return impl_->connected(); }
std::int64_t Connection::max_payload() const { return impl_->max_payload(); }
const std::string& Connection::agent_id() const { return impl_->agent_id(); }
void Connection::close() { impl_->close(); }

}  // namespace polaris
