#include "client/tool_registration.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <thread>

#include "client/payload_split.hpp"
#include "polaris/error.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"
#include "transport/message.hpp"
#include "transport/publish.hpp"

namespace polaris::detail {
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

}  // namespace

std::shared_ptr<ServedTool> ToolRegistration::prepare(Tool tool) {
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
  if (settings_.heartbeat_interval > std::chrono::milliseconds::zero()) {
    served->declaration["polaris"]["heartbeat_ms"] = settings_.heartbeat_interval.count();
  }
  served->tool = std::move(tool);
  served->stats = instrument(served->tool);  // [observe] wraps the handler to count calls
  served->pool = std::make_unique<WorkerPool>(served->tool.concurrency, served->tool.concurrency);
  return served;
}

void ToolRegistration::register_tools(std::vector<Tool> tools) {
  std::set<std::string, std::less<>> names;
  for (const auto& tool : tools) {
    check_tool(tool);
    if (!names.insert(tool.name).second) {
      throw Error(Errc::invalid_argument, "register: " + tool.name + " appears twice");
    }
  }
  if (tools.empty()) return;
  if (closed_) throw Error(Errc::not_connected, "the connection is closed");
  std::lock_guard registration(mutex_);
  for (const auto& tool : tools) {
    if (parts_.tools.find(tool.name)) {
      throw Error(Errc::registration_failed,
                  "register: " + tool.name + " already registered on this connection");
    }
  }
  std::vector<std::shared_ptr<ServedTool>> served;
  served.reserve(tools.size());
  for (auto& tool : tools) served.push_back(prepare(std::move(tool)));

  subscribe(served);
  std::vector<RegistrationOutcome> outcomes;
  registering_ = true;
  try {
    outcomes = parts_.registrar.register_declarations(served);
  } catch (...) {
    registering_ = false;
    for (auto& local : served) refuse(*local);
    throw;
  }
  registering_ = false;
  settle(served, outcomes);
}

void ToolRegistration::subscribe(const std::vector<std::shared_ptr<ServedTool>>& served) {
  // Subscribe, then register (see CallGate): calls that arrive meanwhile are held. Replicas of a
  // tool share its calls through the queue group; each call runs on one of them.
  CallServer* server = &parts_.call_server;
  try {
    for (const auto& local : served) {
      std::weak_ptr<ServedTool> weak = local;
      local->subscription = Subscription(connection_, wire::tool_subject(local->tool.name),
                                         wire::kToolQueueGroup, [weak, server](NatsMsgPtr msg) {
                                           if (auto tool = weak.lock()) {
                                             if (auto admitted = tool->gate.admit(std::move(msg))) {
                                               server->serve(*tool, std::move(admitted));
                                             }
                                           }
                                         });
    }
  } catch (...) {
    for (const auto& local : served) refuse(*local);
    throw;
  }
}

void ToolRegistration::settle(const std::vector<std::shared_ptr<ServedTool>>& served,
                              const std::vector<RegistrationOutcome>& outcomes) {
  std::vector<std::string> refusals;
  std::optional<Error> failure;
  for (std::size_t i = 0; i < served.size(); ++i) {
    const auto& local = served[i];
    if (std::holds_alternative<std::monostate>(outcomes[i])) {
      for (auto& held : local->gate.open()) parts_.call_server.serve(*local, std::move(held));
      parts_.tools.add(local);
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

void ToolRegistration::refuse(ServedTool& tool) {
  tool.gate.close();
  // Drained, not just unsubscribed: a call the server routed here before it processed the
  // unsubscription is held too, instead of being dropped on arrival.
  tool.subscription.drain();
  // Each held call went to this agent alone (queue group): hand it on to the name's owner.
  for (auto& held : tool.gate.take_held()) forward_call(connection_, held.get(), log_);
}

std::shared_ptr<ServedTool> ToolRegistration::withdraw_locally(const std::string& name) {
  auto local = parts_.tools.take(name);
  if (!local) return nullptr;
  if (discovery_) discovery_->remove_endpoint(name);  // [observe]
  // Stop taking calls, let those in flight finish; then it may leave the catalogue. Drained, not
  // cut: calls the server routed here before it processed the unsubscription still run (one
  // round trip), instead of being dropped while a replica could have taken them.
  local->subscription.drain();
  if (!local->pool->drain(settings_.drain_timeout)) {
    log_->warn("tool {}: calls still running after {} ms; unregistering anyway", name,
               settings_.drain_timeout.count());
  }
  return local;
}

void ToolRegistration::unregister_remotely(const std::string& name) {
  if (!is_connected(connection_)) {
    log_->warn("not connected: tool {} stays in the catalogue until its keepalive deadline", name);
    return;
  }
  try {
    // The agent id lets a polaris registry remove only this agent's ownership (replicas).
    parts_.registry.status_request(
        parts_.registry.write_subject(wire::kUserUnregisterVerb, wire::kUnregisterSubject),
        wire::UnregisterRequest{name, agent_id_}.to_json());
    log_->info("unregistered tool {}", name);
  } catch (const Error& error) {
    log_->warn("unregister {}: {}", name, error.what());
  }
}

void ToolRegistration::unregister_locked(const std::string& name) {
  const auto local = withdraw_locally(name);
  if (!local) return;
  unregister_remotely(name);
  // Handlers use the connection: wait for the last ones before it can close.
  local->pool.reset();
}

std::vector<ToolHost::Entry> ToolRegistration::withdraw_all_locally() {
  auto leaving = parts_.tools.take_all();
  // Each step for every tool before the next, so that the waits overlap: with 10,000 tools,
  // one tool after the other took seconds, and N stuck handlers took N drain timeouts.
  for (auto& [name, local] : leaving) {
    if (discovery_) discovery_->remove_endpoint(name);  // [observe]
    local->subscription.stop();
  }
  for (auto& [name, local] : leaving) local->subscription.unsubscribe();
  const auto deadline = std::chrono::steady_clock::now() + settings_.drain_timeout;
  std::size_t still_running = 0;
  for (auto& [name, local] : leaving) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!local->pool->drain(std::max(left, std::chrono::milliseconds::zero()))) ++still_running;
  }
  if (still_running > 0) {
    log_->warn("{} tool(s) still running calls after {} ms; unregistering anyway", still_running,
               settings_.drain_timeout.count());
  }
  return leaving;
}

void ToolRegistration::unregister_all() {
  std::lock_guard registration(mutex_);
  auto leaving = withdraw_all_locally();
  if (leaving.empty()) return;
  bool withdrawn = false;
  if (is_connected(connection_)) {
    try {
      // One request for every tool (a polaris registry): closing a 10,000-tool agent would
      // otherwise take 10,000 round trips.
      parts_.registry.status_request(
          parts_.registry.write_subject(wire::kUserLeaveVerb, wire::kAgentLeaveSubject),
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

void ToolRegistration::unregister_tool(std::string_view name) {
  std::lock_guard registration(mutex_);
  if (!parts_.tools.find(name)) {
    throw Error(Errc::invalid_argument,
                "unregister: " + std::string(name) + " is not a tool of this connection");
  }
  unregister_locked(std::string(name));
}

void ToolRegistration::revoke(const std::string& name, const std::string& message) {
  auto local = parts_.tools.take(name, /*from_outside=*/false);
  if (!local) {
    log_->debug("revocation of {}, which this agent does not serve: ignored", name);
    return;
  }
  {
    std::lock_guard registration(mutex_);               // close() resets discovery_ under it
    if (discovery_) discovery_->remove_endpoint(name);  // [observe]
  }
  local->subscription.unsubscribe();
  (void)local->pool->drain(std::chrono::milliseconds::zero());  // stop taking calls, now
  log_->warn("the registry revoked tool {}: {}", name, message);
  // Calls in flight finish on their own; the timer frees the tool once they have.
  revoked_.add(std::move(local));
  notify_revoked(name, message);
}

void ToolRegistration::notify_revoked(const std::string& name, const std::string& message) {
  if (settings_.on_tool_revoked) {
    try {
      settings_.on_tool_revoked(name, message);
    } catch (const std::exception& error) {
      log_->warn("on_tool_revoked threw: {}", error.what());
    } catch (...) {
      log_->warn("on_tool_revoked threw a non-standard exception");
    }
  }
}

void ToolRegistration::start_discovery(std::unique_ptr<ServiceDiscovery> discovery) {
  std::lock_guard registration(mutex_);
  discovery_ = std::move(discovery);
}

void ToolRegistration::stop() {
  {  // [observe] stop answering $SRV while still connected
    std::lock_guard registration(mutex_);
    discovery_.reset();
  }
  revoked_.clear();  // waits for their last calls
}

}  // namespace polaris::detail
