#include "registry/agent_disconnects.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <string_view>

#include "common/untrusted_json.hpp"
#include "protocol/wire.hpp"
#include "transport/message.hpp"

namespace polaris::detail {
namespace {

// nats-server's names of the ways a client connection ends that mean the client's side closed
// or broke it: what a process that dies (SIGKILL, crash) looks like from the server.
bool closed_by_client(std::string_view reason) {
  constexpr std::array<std::string_view, 3> kReasons{"Client Closed", "Read Error", "Write Error"};
  for (const auto known : kReasons) {
    if (reason == known) return true;
  }
  return false;
}

std::string string_at(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

AgentDisconnects::AgentDisconnects(natsConnection* system, std::chrono::milliseconds grace,
                                   OnCrash on_crash, Logger log)
    : grace_(grace), on_crash_(std::move(on_crash)), log_(std::move(log)) {
  auto handler = [this](void (AgentDisconnects::*member)(const Json&)) {
    return [this, member](NatsMsgPtr msg) {
      const Json event = parse_untrusted_json(message_body(msg.get()));
      if (event.is_object()) (this->*member)(event);
    };
  };
  connects_ =
      Subscription(system, "$SYS.ACCOUNT.*.CONNECT", "", handler(&AgentDisconnects::on_connect));
  disconnects_ = Subscription(system, "$SYS.ACCOUNT.*.DISCONNECT", "",
                              handler(&AgentDisconnects::on_disconnect));
}

AgentDisconnects::~AgentDisconnects() {
  connects_.unsubscribe();
  disconnects_.unsubscribe();
  timer_.stop();
}

std::optional<AgentDisconnects::Event> AgentDisconnects::parse(const Json& event) const {
  const auto client = event.find("client");
  const auto server = event.find("server");
  if (client == event.end() || !client->is_object() || server == event.end() ||
      !server->is_object()) {
    return std::nullopt;
  }
  Event parsed;
  parsed.agent = wire::agent_of_connection_name(string_at(*client, "name"));
  if (parsed.agent.empty()) return std::nullopt;
  // Under authentication, agent ids are "<user>.<random>": a user speaks only for its own.
  const std::string user = string_at(*client, "user");
  if (!user.empty() && user != kAnonymousUser && !parsed.agent.starts_with(user + ".")) {
    log_->warn("ignored the connection events of user {} naming agent {}", user, parsed.agent);
    return std::nullopt;
  }
  parsed.connection.server = string_at(*server, "id");
  if (const auto id = client->find("id"); id != client->end() && id->is_number_unsigned()) {
    parsed.connection.client = id->get<std::uint64_t>();
  }
  parsed.reason = string_at(event, "reason");
  return parsed;
}

void AgentDisconnects::on_connect(const Json& event) {
  const auto parsed = parse(event);
  if (!parsed) return;
  std::lock_guard lock(mutex_);
  if (latest_.size() >= kMaxRemembered && latest_.count(parsed->agent) == 0) {
    latest_.erase(latest_.begin());  // forgetting one only costs it the "moved" check
  }
  latest_[parsed->agent] = parsed->connection;
  if (const auto pending = pending_.find(parsed->agent); pending != pending_.end()) {
    timer_.cancel(pending->second);
    pending_.erase(pending);
    log_->info("agent {} connected again within {} ms", parsed->agent, grace_.count());
  }
}

void AgentDisconnects::on_disconnect(const Json& event) {
  const auto parsed = parse(event);
  if (!parsed) return;
  std::lock_guard lock(mutex_);
  const auto latest = latest_.find(parsed->agent);
  const bool current = latest == latest_.end() || latest->second == parsed->connection;
  if (!current) return;  // an old connection of an agent that has connected again since
  if (latest != latest_.end()) latest_.erase(latest);
  if (!closed_by_client(parsed->reason)) {
    log_->debug("agent {}: connection closed ({}); heartbeats decide", parsed->agent,
                parsed->reason);
    return;
  }
  if (pending_.count(parsed->agent) != 0) return;
  const std::string agent = parsed->agent;
  const std::string reason = parsed->reason;
  // The job takes mutex_, which is held until its id is stored.
  pending_[agent] = timer_.schedule(Timer::Clock::now() + grace_,
                                    [this, agent, reason] { expire(agent, reason); });
}

void AgentDisconnects::expire(const std::string& agent, const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    const auto pending = pending_.find(agent);
    if (pending == pending_.end()) return;  // it connected again
    pending_.erase(pending);
  }
  try {
    on_crash_(agent, reason);
  } catch (const std::exception& error) {
    log_->error("withdrawing agent {}: {}", agent, error.what());
  }
}

}  // namespace polaris::detail
