#include <spdlog/spdlog.h>

#include <algorithm>

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
#include "transport/publish.hpp"

namespace polaris {
namespace {

// `{}` in a call reads as a JSON null: take it for "no arguments".
const Json& or_empty_object(const Json& arguments) {
  static const Json empty = Json::object();  // immutable
  return arguments.is_null() ? empty : arguments;
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
                    : detail::agent_namespace_of(options_) + "." + detail::new_agent_id()) {
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
    create_parts();
    subscribe_events();
    mux_ready_ = mux_.get();
  } catch (...) {
    for (auto* subscription : {&agent_subscription_, &gone_subscription_, &back_subscription_,
                               &ask_subscription_, &answers_subscription_}) {
      subscription->unsubscribe();
    }
    if (timer_) timer_->stop();
    detail::close_connection(connection_.get());
    closed_event_.get_future().wait_for(std::chrono::seconds(5));
    throw;
  }
  registration_->start_discovery(std::make_unique<detail::ServiceDiscovery>(  // [observe]
      connection_.get(), detail::agent_service_identity(agent_id_, options_.name), log_));
  log_->debug("connected to {} as agent {}", connected_url(), agent_id_);
  liveness_->start();
}

void Connection::Impl::create_parts() {
  mux_ = std::make_unique<detail::CallMux>(connection_.get(),
                                           detail::new_inbox(detail::inbox_prefix_of(options_)));
  timer_ = std::make_unique<detail::Timer>();
  call_server_ =
      std::make_unique<detail::CallServer>(connection_.get(), agent_id_, *timer_, log_, &closed_);
  registry_ = std::make_unique<detail::RegistryChannel>(*mux_, options_.request_timeout,
                                                        detail::agent_namespace_of(options_));
  directory_ = std::make_unique<detail::ToolDirectory>(*registry_, *mux_, log_);
  registrar_ = std::make_unique<detail::Registrar>(
      *registry_, connection_.get(),
      detail::Registrar::Settings{.request_timeout = options_.request_timeout,
                                  .registry_wait = options_.registry_wait},
      log_, closed_);
  recovery_ = std::make_unique<detail::ReplyRecovery>(connection_.get(), agent_id_, *timer_,
                                                      *call_server_, mux_ready_, log_);
  caller_ =
      std::make_unique<detail::Caller>(*mux_, *directory_, connection_.get(), agent_id_, closed_);
  registration_ = std::make_unique<detail::ToolRegistration>(
      connection_.get(), agent_id_,
      detail::ToolRegistration::Settings{.heartbeat_interval = options_.heartbeat_interval,
                                         .drain_timeout = options_.drain_timeout,
                                         .on_tool_revoked = options_.on_tool_revoked},
      detail::ToolRegistration::Parts{.tools = tools_,
                                      .call_server = *call_server_,
                                      .registrar = *registrar_,
                                      .registry = *registry_,
                                      .timer = *timer_},
      closed_, log_);
  liveness_ = std::make_unique<detail::Liveness>(
      connection_.get(), agent_id_,
      detail::Liveness::Settings{.keepalive_interval = options_.keepalive_interval,
                                 .heartbeat_interval = options_.heartbeat_interval,
                                 .request_timeout = options_.request_timeout},
      *timer_, *mux_, *registry_, tools_, registration_->registering(), log_);
}

void Connection::Impl::subscribe_events() {
  agent_subscription_ =
      detail::Subscription(connection_.get(), wire::agent_subject_prefix(agent_id_) + ">", "",
                           [this](detail::NatsMsgPtr msg) { on_agent_message(std::move(msg)); });
  gone_subscription_ =
      detail::Subscription(connection_.get(), std::string(wire::kAgentGoneSubject), "",
                           [this](detail::NatsMsgPtr msg) { on_agent_gone(msg); });
  back_subscription_ =
      detail::Subscription(connection_.get(), std::string(wire::kAgentBackSubject), "",
                           [this](detail::NatsMsgPtr msg) { recovery_->on_agent_back(msg); });
  ask_subscription_ =
      detail::Subscription(connection_.get(), std::string(wire::kCallerAskSubject), "",
                           [this](detail::NatsMsgPtr msg) { recovery_->on_caller_ask(msg); });
  // The agents' answers to our own asks (mux_'s "<inbox>.*" ignores this non-numeric token).
  answers_subscription_ = detail::Subscription(
      connection_.get(), mux_->inbox() + "." + std::string(wire::kCallerAskReplyToken), "",
      [this](detail::NatsMsgPtr msg) { recovery_->on_agent_back(msg); });
}

void Connection::Impl::on_agent_gone(const detail::NatsMsgPtr& msg) {
  const auto gone = wire::AgentGone::from_json(wire::parse_body(detail::message_body(msg.get())));
  // An agent that left on purpose drains the calls it took and answers them; the ones it did
  // not take it answers "no such tool". Only a crash leaves calls unanswered.
  if (!gone || gone->departed) return;
  std::map<std::string, bool> tools;  // name -> idempotent
  for (const auto& tool : gone->tools) tools[tool.name] = tool.idempotent;
  if (detail::CallMux* mux = mux_ready_.load()) mux->agent_gone(gone->agent, tools);
}

void Connection::Impl::on_agent_message(detail::NatsMsgPtr msg) {
  const std::string_view subject = detail::message_subject(msg.get());
  const std::string prefix = wire::agent_subject_prefix(agent_id_);
  if (!subject.starts_with(prefix)) return;
  const std::string_view rest = subject.substr(prefix.size());
  if (rest.starts_with("call.")) {
    const std::string_view name = rest.substr(5);
    // Under the table's lock: unregistering cannot take the tool's pool away meanwhile.
    bool served = false;
    tools_.with_tool(name, [&](ServedTool* tool) {
      if (tool == nullptr) return;
      call_server_->serve(*tool, std::move(msg));
      served = true;
    });
    if (!served) call_server_->serve_unknown(name, std::move(msg));
  } else if (rest == "resync") {
    liveness_->request_resync();
  } else if (rest == "revoked") {
    const auto revocation =
        wire::Revocation::from_json(wire::parse_body(detail::message_body(msg.get())));
    if (!revocation) {
      log_->warn("ignoring a malformed revocation on {}", subject);
      return;
    }
    registration_->revoke(revocation->name, revocation->msg);
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
  // mux_ready_ is set once everything the events use exists.
  detail::CallMux* mux = mux_ready_.load();
  if (mux == nullptr) return;
  call_server_->publisher().on_disconnected();
  // Calls without retry fail now, so callers can act at once instead of waiting out their
  // timeout; the others wait for the connection to come back.
  mux->on_disconnected();
}

void Connection::Impl::on_reconnected() {
  log_->info("reconnected to {}", connected_url());
  detail::CallMux* mux = mux_ready_.load();
  if (mux == nullptr) return;
  // Replies sent just before the disconnect may have been lost with the node.
  recovery_->announce_back(call_server_->on_reconnected());
  if (mux->on_reconnected() > 0) {
    // Calls sent before the drop and not acknowledged: the agents that have them (their
    // acknowledgements died with our node) name them, and the mux retries those on them. They
    // answer only below our inbox (wire::kCallerAskSubject).
    const std::string body = wire::CallerAsk{mux->inbox()}.to_json().dump();
    const std::string reply = mux->inbox() + "." + std::string(wire::kCallerAskReplyToken);
    (void)detail::publish(connection_.get(), std::string(wire::kCallerAskSubject), reply, body);
  }
  // The node we reached may have restarted with an empty catalogue: refresh it now.
  liveness_->keepalive_soon();
}

void Connection::Impl::on_closed() {
  // nats.c gave up reconnecting (or we closed): calls kept for a retry cannot succeed.
  if (detail::CallMux* mux = mux_ready_.load()) {
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
  detail::CallMux* mux = mux_ready_.load();
  if (mux == nullptr) {
    log_->debug("the server refused a publication: {}", reason);
  } else if (mux->publish_denied(*denied, reason) > 0) {
    log_->warn("the server refused a request: {}", reason);
  } else {
    // Not a request of ours: a reply (or acknowledgement) to a call this connection did not
    // receive, which NATS permissions refuse: published after a reconnect, or after the
    // response window. Its caller is asked to send the call again, and the reply cache answers.
    log_->debug("the server refused a publication: {}", reason);
    recovery_->ask_again(*denied);
  }
}

std::chrono::milliseconds Connection::Impl::local_timeout(const ServedTool& local,
                                                          const CallOptions& options) const {
  if (options.timeout) return *options.timeout;
  if (local.tool.timeout.count() > 0) return local.tool.timeout;
  return directory_->declared_timeout(local.tool.name).value_or(options_.request_timeout);
}

Json Connection::Impl::call_locally(const std::shared_ptr<ServedTool>& local, const Json& arguments,
                                    const CallOptions& options,
                                    std::chrono::steady_clock::time_point deadline,
                                    const std::atomic<bool>* closing, const Logger& log) {
  Request::Context context;
  context.deadline = deadline;
  context.closing = closing;
  context.local_progress = options.on_progress;
  context.chain = options.chain;
  return detail::reply_to_value(
      local->tool.name,
      detail::run_tool(local->tool, or_empty_object(arguments), log, &context, local->stats.get())
          .dump());
}

Json Connection::Impl::call(std::string_view name, const Json& arguments,
                            const CallOptions& options) {
  detail::check_callable_name(name);
  if (auto local = tools_.find(name)) {
    return call_locally(local, arguments, options,
                        std::chrono::steady_clock::now() + local_timeout(*local, options), &closed_,
                        log_);
  }
  return call_async(name, arguments, options).get();
}

std::future<Json> Connection::Impl::call_async(std::string_view name, const Json& arguments,
                                               const CallOptions& options) {
  detail::check_callable_name(name);
  if (auto local = tools_.find(name)) {
    // A thread of its own, as the handler may block for as long as it likes (a pool could
    // refuse the call, or make local calls that wait for each other deadlock).
    return std::async(
        std::launch::async,
        [local, arguments, options, log = log_, closing = &closed_,
         deadline = std::chrono::steady_clock::now() + local_timeout(*local, options)] {
          return call_locally(local, arguments, options, deadline, closing, log);
        });
  }
  auto promise = std::make_shared<std::promise<Json>>();
  auto future = promise->get_future();
  caller_->call(
      std::string(name), arguments, options,
      [promise](Json value) { promise->set_value(std::move(value)); },
      [promise](std::exception_ptr error) { promise->set_exception(std::move(error)); });
  return future;
}

std::vector<ToolDeclaration> Connection::Impl::list_tools() {
  if (closed_) throw Error(Errc::not_connected, "the connection is closed");
  return directory_->list();
}

std::string Connection::Impl::connected_url() const {
  return detail::connected_url(connection_.get());
}

bool Connection::Impl::connected() const {
  return !closed_ && detail::is_connected(connection_.get());
}

std::int64_t Connection::Impl::max_payload() const {
  return detail::max_payload(connection_.get());
}

void Connection::Impl::close() {
  // Closing waits for the handlers and then closes the connection their replies need.
  if (tools_.on_handler_thread()) {
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
  registration_->stop();  // [observe] no more $SRV answers; revoked tools' last calls
  gone_subscription_.unsubscribe();
  back_subscription_.unsubscribe();
  ask_subscription_.unsubscribe();
  answers_subscription_.unsubscribe();
  mux_ready_ = nullptr;
  mux_->close();
  detail::close_connection(connection_.get());
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
