// Connection::Impl: registering tools, serving them, unregistering and revocation.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <thread>

#include "client/connection_impl.hpp"
#include "client/payload_split.hpp"
#include "polaris/error.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"
#include "transport/message.hpp"

namespace polaris {
namespace {

void check_tool(const Tool& tool) {
  if (!is_valid_tool_name(tool.name)) {
    throw Error(Errc::invalid_argument, "register: invalid tool name '" + tool.name +
                                            "': it must match ^[A-Za-z_][A-Za-z0-9_-]{0,63}$");
  }
  if (!tool.handler) {
    throw Error(Errc::invalid_argument, "register: tool " + tool.name + " has no handler");
  }
  if (!tool.declaration_extra.is_object()) {
    throw Error(Errc::invalid_argument,
                "register: declaration_extra of " + tool.name + " must be a JSON object");
  }
  if (tool.timeout.count() < 0) {
    throw Error(Errc::invalid_argument, "register: the timeout of " + tool.name + " is negative");
  }
}

// Withdrawing a tool waits for its handlers, so a handler cannot withdraw its own tool.
void check_not_inside_handler(const std::string& name, const detail::ServedTool& tool) {
  if (tool.pool->on_worker_thread()) {
    throw Error(Errc::invalid_argument,
                "unregister: " + name +
                    " cannot be unregistered (or its connection closed) from inside its own "
                    "handler");
  }
}

// A registry's {"success", "msg"} as the outcome of one registration (Connection::Impl::Outcome).
std::variant<std::monostate, std::string, Error> outcome_of(const wire::StatusReply& status) {
  if (status.success) return std::monostate{};
  return status.msg;
}

Error no_success(const std::string& what) {
  return Error(Errc::protocol, "the registry's reply to " + what + " has no boolean \"success\"");
}

}  // namespace

std::shared_ptr<detail::ServedTool> Connection::Impl::prepare(Tool tool) {
  auto served = std::make_shared<ServedTool>();
  ToolPolarisInfo polaris{.agent = agent_id_,
                          .replicable = tool.replicable,
                          .idempotent = tool.idempotent,
                          .timeout = tool.timeout};
  served->declaration = ToolDeclaration{.name = tool.name,
                                        .description = tool.description,
                                        .parameters = tool.parameters.to_json(),
                                        .response = tool.response.to_json(),
                                        .extra = tool.declaration_extra,
                                        .polaris = polaris}
                            .to_json();
  // Tells the registry to expect heartbeats from the start: an agent that dies before its first
  // one must still be declared gone within the agent timeout.
  if (options_.heartbeat_interval > std::chrono::milliseconds::zero()) {
    served->declaration["polaris"]["heartbeat_ms"] = options_.heartbeat_interval.count();
  }
  served->tool = std::move(tool);
  served->stats = detail::instrument(served->tool);  // [observe] wraps the handler to count calls
  served->pool =
      std::make_unique<detail::WorkerPool>(served->tool.concurrency, served->tool.concurrency);
  return served;
}

void Connection::Impl::register_tools(std::vector<Tool> tools) {
  std::set<std::string, std::less<>> names;
  for (const auto& tool : tools) {
    check_tool(tool);
    if (!names.insert(tool.name).second) {
      throw Error(Errc::invalid_argument, "register: " + tool.name + " appears twice");
    }
  }
  if (tools.empty()) return;
  if (closed_) throw Error(Errc::not_connected, "the connection is closed");
  std::lock_guard registration(registration_mutex_);
  for (const auto& tool : tools) {
    if (find_local(tool.name)) {
      throw Error(Errc::registration_failed,
                  "register: " + tool.name + " already registered on this connection");
    }
  }
  std::vector<std::shared_ptr<ServedTool>> served;
  served.reserve(tools.size());
  for (auto& tool : tools) served.push_back(prepare(std::move(tool)));

  // Subscribe, then register (see CallGate): calls that arrive meanwhile are held. Replicas of a
  // tool share its calls through the queue group; each call runs on one of them.
  detail::CallServer* server = call_server_.get();
  try {
    for (auto& local : served) {
      std::weak_ptr<ServedTool> weak = local;
      local->subscription =
          detail::Subscription(connection_.get(), wire::tool_subject(local->tool.name),
                               wire::kToolQueueGroup, [weak, server](detail::NatsMsgPtr msg) {
                                 if (auto tool = weak.lock()) {
                                   if (auto admitted = tool->gate.admit(std::move(msg))) {
                                     server->serve(*tool, std::move(admitted));
                                   }
                                 }
                               });
    }
  } catch (...) {
    for (auto& local : served) refuse(*local);
    throw;
  }

  std::vector<Outcome> outcomes;
  registering_ = true;
  try {
    outcomes = register_declarations(served);
  } catch (...) {
    registering_ = false;
    for (auto& local : served) refuse(*local);
    throw;
  }
  registering_ = false;

  std::vector<std::string> refusals;
  std::optional<Error> failure;
  for (std::size_t i = 0; i < served.size(); ++i) {
    auto& local = served[i];
    if (std::holds_alternative<std::monostate>(outcomes[i])) {
      for (auto& held : local->gate.open()) server->serve(*local, std::move(held));
      {
        std::unique_lock lock(tools_mutex_);
        tools_.emplace(local->tool.name, local);
      }
      if (discovery_) {  // [observe]
        discovery_->add_endpoint(local->tool.name, wire::tool_subject(local->tool.name),
                                 wire::kToolQueueGroup, local->tool.description, local->stats);
      }
      log_->info("registered tool {}", local->tool.name);
      continue;
    }
    refuse(*local);
    if (auto* message = std::get_if<std::string>(&outcomes[i])) {
      refusals.push_back(*message);
    } else if (!failure) {
      failure = std::get<Error>(outcomes[i]);
    }
  }
  if (failure) throw *failure;
  if (refusals.size() == 1) throw Error(Errc::registration_failed, refusals.front());
  if (!refusals.empty()) {
    std::string message = "register: " + std::to_string(refusals.size()) + " of " +
                          std::to_string(served.size()) + " tools refused: ";
    for (std::size_t i = 0; i < refusals.size() && i < 5; ++i) {
      message += (i > 0 ? "; " : "") + refusals[i];
    }
    if (refusals.size() > 5) message += "; ...";
    throw Error(Errc::registration_failed, message);
  }
}

std::vector<Connection::Impl::Outcome> Connection::Impl::register_declarations(
    const std::vector<std::shared_ptr<ServedTool>>& tools) {
  using Clock = std::chrono::steady_clock;
  using std::chrono::milliseconds;
  const auto deadline = Clock::now() + options_.registry_wait;
  std::vector<Outcome> outcomes(tools.size());
  std::vector<std::size_t> todo(tools.size());
  std::iota(todo.begin(), todo.end(), std::size_t{0});
  milliseconds pause{50};
  bool told = false;
  for (;;) {
    std::vector<std::shared_ptr<ServedTool>> batch;
    batch.reserve(todo.size());
    for (const auto index : todo) batch.push_back(tools[index]);
    // Each attempt ends by the deadline (but gets a moment even at the end of the wait).
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    const auto results =
        register_once(batch, std::clamp(left, std::min(milliseconds{500}, options_.request_timeout),
                                        std::max(options_.request_timeout, milliseconds{1})));
    std::vector<std::size_t> again;
    for (std::size_t k = 0; k < todo.size(); ++k) {
      outcomes[todo[k]] = results[k];
      const auto* error = std::get_if<Error>(&results[k]);
      // Nobody answered: no registry yet, or the one that had the request went away. A
      // registration the registry refused, or that was malformed, is final.
      if (error != nullptr &&
          (error->code() == Errc::no_registry || error->code() == Errc::timeout ||
           error->code() == Errc::connection_lost)) {
        again.push_back(todo[k]);
      }
    }
    const auto now = Clock::now();
    if (again.empty() || now >= deadline || closed_ || natsConnection_IsClosed(connection_.get())) {
      break;
    }
    if (!told) {
      log_->warn("no registry answers yet; registering again for up to {} ms",
                 options_.registry_wait.count());
      told = true;
    }
    // A back-off, not a synchronisation: nothing tells us when a registry subscribes.
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, milliseconds{500});
    todo = std::move(again);
  }
  if (options_.registry_wait > milliseconds::zero()) {
    for (auto& outcome : outcomes) {
      if (auto* error = std::get_if<Error>(&outcome); error && error->code() == Errc::no_registry) {
        *error =
            Error(Errc::no_registry, std::string(error->what()) + " (tried for " +
                                         std::to_string(options_.registry_wait.count()) + " ms)");
      }
    }
  }
  return outcomes;
}

std::vector<Connection::Impl::Outcome> Connection::Impl::register_once(
    const std::vector<std::shared_ptr<ServedTool>>& tools, std::chrono::milliseconds timeout) {
  if (user_.empty() || !user_subjects_) return register_shared(tools, timeout);
  try {
    return register_batch(tools, wire::user_subject(user_, wire::kUserRegisterVerb), timeout);
  } catch (const Error& error) {
    if (error.code() != Errc::no_registry) throw;
    // A registry without the per-user subjects (older, or a Go registry: no roles either way).
    // Under roles the shared subjects are refused (permission_denied): nobody answered, then.
    auto outcomes = register_shared(tools, timeout);
    const bool answered = std::any_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) {
      return !std::holds_alternative<Error>(o);
    });
    // Nobody answered either way: report the first failure, which register_declarations may
    // retry (no registry yet).
    if (!answered) return std::vector<Outcome>(tools.size(), Outcome{error});
    log_->debug("the registry answers on the shared subjects only; writing there from now on");
    user_subjects_ = false;
    return outcomes;
  }
}

std::vector<Connection::Impl::Outcome> Connection::Impl::register_shared(
    const std::vector<std::shared_ptr<ServedTool>>& tools, std::chrono::milliseconds timeout) {
  try {
    return register_batch(tools, std::string(wire::kBatchRegisterSubject), timeout);
  } catch (const Error& error) {
    // A registry without the batch subject (e.g. a Go registry): the reference's way.
    if (error.code() != Errc::no_registry) throw;
    log_->debug("no registry answers on {}; registering one by one", wire::kBatchRegisterSubject);
    return register_one_by_one(tools, timeout);
  }
}

std::vector<Connection::Impl::Outcome> Connection::Impl::register_batch(
    const std::vector<std::shared_ptr<ServedTool>>& tools, const std::string& subject,
    std::chrono::milliseconds timeout) {
  std::vector<std::string> texts;
  texts.reserve(tools.size());
  for (const auto& tool : tools) texts.push_back(tool->declaration.dump());
  const auto [open, close] = wire::BatchRegisterRequest::envelope();
  const auto split =
      detail::split_bodies(texts, open, close, static_cast<std::size_t>(max_payload()));
  std::vector<Outcome> outcomes(tools.size());
  for (const auto index : split.too_large) {
    outcomes[index] =
        Error(Errc::payload_too_large, "register: the declaration of " + tools[index]->tool.name +
                                           " exceeds the max payload");
  }
  for (std::size_t part = 0; part < split.bodies.size(); ++part) {
    const auto& members = split.members[part];
    Json reply;
    try {
      // Kept across a reconnect: a registration in flight when its node dies is sent again.
      reply = registry_request(subject, split.bodies[part], {.timeout = timeout, .retry = true});
    } catch (const Error& error) {
      // Only the first request tells whether the registry has the subject at all.
      if (part == 0 && error.code() == Errc::no_registry) throw;
      for (const auto index : members) outcomes[index] = error;
      continue;
    }
    const auto batch = wire::BatchRegisterReply::from_json(reply);
    if (!batch) throw no_success(subject);
    std::map<std::string, Outcome, std::less<>> by_name;
    for (const auto& result : batch->results) by_name[result.name] = outcome_of(result.status);
    for (const auto index : members) {
      const auto found = by_name.find(tools[index]->tool.name);
      outcomes[index] = found != by_name.end() ? found->second : outcome_of(batch->overall);
    }
  }
  return outcomes;
}

std::vector<Connection::Impl::Outcome> Connection::Impl::register_one_by_one(
    const std::vector<std::shared_ptr<ServedTool>>& tools, std::chrono::milliseconds timeout) {
  // All at once: the registry answers each in turn; nobody waits for a round trip per tool.
  std::vector<std::shared_ptr<std::promise<std::string>>> replies;
  replies.reserve(tools.size());
  for (const auto& tool : tools) {
    auto reply = std::make_shared<std::promise<std::string>>();
    replies.push_back(reply);
    mux_->request(
        std::string(wire::kRegisterSubject), tool->declaration.dump(), timeout,
        [reply](detail::ReplyOutcome outcome) {
          if (auto* text = std::get_if<std::string>(&outcome)) {
            reply->set_value(std::move(*text));
          } else {
            reply->set_exception(std::make_exception_ptr(std::get<Error>(outcome)));
          }
        },
        detail::RequestOptions{.retry = true});
  }
  std::vector<Outcome> outcomes(tools.size());
  for (std::size_t i = 0; i < tools.size(); ++i) {
    try {
      const std::string text = replies[i]->get_future().get();
      const auto status = wire::StatusReply::from_json(wire::parse_body(text));
      if (!status) throw no_success(std::string(wire::kRegisterSubject));
      outcomes[i] = outcome_of(*status);
    } catch (const Error& error) {
      outcomes[i] = error.code() == Errc::no_such_tool
                        ? Error(Errc::no_registry,
                                "no registry answers on " + std::string(wire::kRegisterSubject))
                        : error;
    }
  }
  return outcomes;
}

void Connection::Impl::refuse(ServedTool& tool) {
  tool.gate.close();
  // Drained, not just unsubscribed: a call the server routed here before it processed the
  // unsubscription is held too, instead of being dropped on arrival.
  tool.subscription.drain();
  // Each held call went to this agent alone (queue group): hand it on to the name's owner.
  for (auto& held : tool.gate.take_held())
    detail::forward_call(connection_.get(), held.get(), log_);
}

std::shared_ptr<detail::ServedTool> Connection::Impl::withdraw_locally(const std::string& name) {
  std::shared_ptr<ServedTool> local;
  {
    std::unique_lock lock(tools_mutex_);
    auto it = tools_.find(name);
    if (it == tools_.end()) return nullptr;
    check_not_inside_handler(name, *it->second);
    local = std::move(it->second);
    tools_.erase(it);
  }
  if (discovery_) discovery_->remove_endpoint(name);  // [observe]
  // Stop taking calls, let those in flight finish; then it may leave the catalogue. Drained, not
  // cut: calls the server routed here before it processed the unsubscription still run (one
  // round trip), instead of being dropped while a replica could have taken them.
  local->subscription.drain();
  if (!local->pool->drain(options_.drain_timeout)) {
    log_->warn("tool {}: calls still running after {} ms; unregistering anyway", name,
               options_.drain_timeout.count());
  }
  return local;
}

void Connection::Impl::unregister_remotely(const std::string& name) {
  if (natsConnection_Status(connection_.get()) != NATS_CONN_STATUS_CONNECTED) {
    log_->warn("not connected: tool {} stays in the catalogue until its keepalive deadline", name);
    return;
  }
  try {
    // The agent id lets a polaris registry remove only this agent's ownership (replicas).
    registry_status_request(write_subject(wire::kUserUnregisterVerb, wire::kUnregisterSubject),
                            wire::UnregisterRequest{name, agent_id_}.to_json());
    log_->info("unregistered tool {}", name);
  } catch (const Error& error) {
    log_->warn("unregister {}: {}", name, error.what());
  }
}

void Connection::Impl::unregister_locked(const std::string& name) {
  const auto local = withdraw_locally(name);
  if (!local) return;
  unregister_remotely(name);
  // Handlers use the connection: wait for the last ones before it can close.
  local->pool.reset();
}

std::vector<std::pair<std::string, std::shared_ptr<detail::ServedTool>>>
Connection::Impl::withdraw_all_locally() {
  std::vector<std::pair<std::string, std::shared_ptr<ServedTool>>> leaving;
  {
    std::unique_lock lock(tools_mutex_);
    for (const auto& [name, tool] : tools_) check_not_inside_handler(name, *tool);
    for (auto& [name, tool] : tools_) leaving.emplace_back(name, std::move(tool));
    tools_.clear();
  }
  // Each step for every tool before the next, so that the waits overlap: with 10,000 tools,
  // one tool after the other took seconds, and N stuck handlers took N drain timeouts.
  for (auto& [name, local] : leaving) {
    if (discovery_) discovery_->remove_endpoint(name);  // [observe]
    local->subscription.stop();
  }
  for (auto& [name, local] : leaving) local->subscription.unsubscribe();
  const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  std::size_t still_running = 0;
  for (auto& [name, local] : leaving) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!local->pool->drain(std::max(left, std::chrono::milliseconds::zero()))) ++still_running;
  }
  if (still_running > 0) {
    log_->warn("{} tool(s) still running calls after {} ms; unregistering anyway", still_running,
               options_.drain_timeout.count());
  }
  return leaving;
}

void Connection::Impl::unregister_all() {
  std::lock_guard registration(registration_mutex_);
  auto leaving = withdraw_all_locally();
  if (leaving.empty()) return;
  bool withdrawn = false;
  if (natsConnection_Status(connection_.get()) == NATS_CONN_STATUS_CONNECTED) {
    try {
      // One request for every tool (a polaris registry): closing a 10,000-tool agent would
      // otherwise take 10,000 round trips.
      registry_status_request(write_subject(wire::kUserLeaveVerb, wire::kAgentLeaveSubject),
                              wire::LeaveRequest{agent_id_}.to_json());
      log_->info("withdrew {} tool(s) from the catalogue", leaving.size());
      withdrawn = true;
    } catch (const Error& error) {
      // A reference registry does not know the subject: one unregistration per tool.
      if (error.code() != Errc::no_registry) log_->warn("leave: {}", error.what());
    }
  }
  for (auto& [name, local] : leaving) {
    if (!withdrawn) unregister_remotely(name);
    local->pool.reset();
  }
}

void Connection::Impl::unregister_tool(std::string_view name) {
  std::lock_guard registration(registration_mutex_);
  if (!find_local(name)) {
    throw Error(Errc::invalid_argument,
                "unregister: " + std::string(name) + " is not a tool of this connection");
  }
  unregister_locked(std::string(name));
}

std::vector<std::string> Connection::Impl::local_tools() const {
  std::shared_lock lock(tools_mutex_);
  std::vector<std::string> names;
  names.reserve(tools_.size());
  for (const auto& [name, tool] : tools_) names.push_back(name);
  return names;
}

std::shared_ptr<detail::ServedTool> Connection::Impl::find_local(std::string_view name) const {
  std::shared_lock lock(tools_mutex_);
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : it->second;
}

void Connection::Impl::on_agent_message(detail::NatsMsgPtr msg) {
  const std::string_view subject = natsMsg_GetSubject(msg.get());
  const std::string prefix = wire::agent_subject_prefix(agent_id_);
  if (!subject.starts_with(prefix)) return;
  const std::string_view rest = subject.substr(prefix.size());
  if (rest.starts_with("call.")) {
    const std::string_view name = rest.substr(5);
    // Under the lock: unregistering cannot take the tool's pool away meanwhile.
    std::shared_lock lock(tools_mutex_);
    const auto it = tools_.find(name);
    if (it != tools_.end()) {
      call_server_->serve(*it->second, std::move(msg));
      return;
    }
    lock.unlock();
    call_server_->serve_unknown(name, std::move(msg));
  } else if (rest == "resync") {
    request_resync();
  } else if (rest == "revoked") {
    const auto revocation =
        wire::Revocation::from_json(wire::parse_body(detail::message_body(msg.get())));
    if (!revocation) {
      log_->warn("ignoring a malformed revocation on {}", subject);
      return;
    }
    revoke(revocation->name, revocation->msg);
  }
}

void Connection::Impl::revoke(const std::string& name, const std::string& message) {
  std::shared_ptr<ServedTool> local;
  {
    std::unique_lock lock(tools_mutex_);
    auto it = tools_.find(name);
    if (it == tools_.end()) {
      log_->debug("revocation of {}, which this agent does not serve: ignored", name);
      return;
    }
    local = std::move(it->second);
    tools_.erase(it);
  }
  {
    std::lock_guard registration(registration_mutex_);  // close() resets discovery_ under it
    if (discovery_) discovery_->remove_endpoint(name);  // [observe]
  }
  local->subscription.unsubscribe();
  (void)local->pool->drain(std::chrono::milliseconds::zero());  // stop taking calls, now
  log_->warn("the registry revoked tool {}: {}", name, message);
  {
    // Calls in flight finish on their own; the timer frees the tool once they have.
    std::lock_guard lock(revoked_mutex_);
    revoked_.push_back(std::move(local));
  }
  timer_->schedule(detail::Timer::Clock::now(), [this] { reap_revoked(); });
  if (options_.on_tool_revoked) {
    try {
      options_.on_tool_revoked(name, message);
    } catch (const std::exception& error) {
      log_->warn("on_tool_revoked threw: {}", error.what());
    } catch (...) {
      log_->warn("on_tool_revoked threw a non-standard exception");
    }
  }
}

void Connection::Impl::reap_revoked() {
  std::vector<std::shared_ptr<ServedTool>> done;
  bool more = false;
  {
    std::lock_guard lock(revoked_mutex_);
    auto idle = std::stable_partition(revoked_.begin(), revoked_.end(),
                                      [](const auto& tool) { return tool->pool->load() > 0; });
    std::move(idle, revoked_.end(), std::back_inserter(done));
    revoked_.erase(idle, revoked_.end());
    more = !revoked_.empty();
  }
  done.clear();  // outside the lock: joins the pools' idle threads
  if (more) {
    timer_->schedule(detail::Timer::Clock::now() + std::chrono::milliseconds(100),
                     [this] { reap_revoked(); });
  }
}

}  // namespace polaris
