#include "client/call_mux.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

#include "polaris/json.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"
#include "transport/message.hpp"
#include "transport/nats_error.hpp"

namespace polaris::detail {

CallMux::CallMux(natsConnection* connection, std::string inbox_prefix)
    : connection_(connection), inbox_(std::move(inbox_prefix)) {
  subscription_ = Subscription(connection_, inbox_ + ".*", "",
                               [this](NatsMsgPtr msg) { on_reply(std::move(msg)); });
}

CallMux::~CallMux() { close(); }

void CallMux::close() {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
  }
  timer_.stop();
  subscription_.unsubscribe();
  fail_all(Errc::not_connected, "the connection is closed");
}

void CallMux::request(const std::string& subject, std::string_view body,
                      std::chrono::milliseconds timeout, ReplyCallback done,
                      RequestOptions options) {
  std::uint64_t id = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const bool with_progress = static_cast<bool>(options.progress);
  const Headers headers = options.headers;
  // Read before our lock: nats.c takes its own.
  const bool nats_connected = is_connected(connection_);
  bool send_now = true;
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      done(Error(Errc::not_connected, "the connection is closed"));
      return;
    }
    id = next_id_++;
    Pending pending{.subject = subject,
                    .done = std::move(done),
                    .deadline = deadline,
                    .timeout = timeout,
                    .options = std::move(options)};
    pending.sent = send_now;  // corrected below when kept for the reconnect
    if (pending.options.retry) {
      pending.body = std::string(body);
      // While the connection is down a kept request waits for on_reconnected(), which sends it:
      // published now, it would sit in nats.c's reconnect buffer, be flushed after the reconnect
      // and be re-sent by on_reconnected() as well, two attempts that two replicas may run.
      if (!connected_ || !nats_connected) {
        pending.waiting_for_connection = true;
        pending.sent = send_now = false;
      }
    }
    pending_.emplace(id, std::move(pending));
    deadlines_.emplace(deadline, id);
    arm_locked(deadline);
  }
  if (!send_now) return;
  const natsStatus status = publish(id, subject, body, headers, with_progress);
  if (status != NATS_OK) publish_failed(id, status, subject);
}

void CallMux::publish_failed(std::uint64_t id, natsStatus status, const std::string& subject) {
  if (lost_with_connection(status)) {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id);
    // A request with retry was in pending_ before the connection was seen to drop, so the
    // coming on_disconnected() keeps it and on_reconnected() sends it again: the failed publish
    // is just another attempt lost with the connection. (Failing it here lost calls sent as
    // the node died.)
    if (it == pending_.end() || it->second.options.retry) return;
  }
  if (lost_with_connection(status)) {
    // Without retry: the same error as a request the disconnect found pending.
    if (auto pending = take(id)) {
      pending->done(Error(Errc::connection_lost,
                          "the connection to the registry was lost (" + subject + ")"));
    }
    return;
  }
  fail_publish(id, status, subject);
}

natsStatus CallMux::publish(std::uint64_t id, const std::string& subject, std::string_view body,
                            const Headers& headers, bool with_progress) {
  const std::string reply = inbox_ + "." + std::to_string(id);
  if (!with_progress) return detail::publish(connection_, subject, reply, body, headers);
  // Progress comes on the reply subject itself: under NATS permissions an agent may publish
  // only there (allow_responses), so a separate progress subject would be refused.
  Headers with_header = headers;
  with_header.emplace_back(wire::kProgressHeader, reply);
  return detail::publish(connection_, subject, reply, body, with_header);
}

void CallMux::fail_publish(std::uint64_t id, natsStatus status, const std::string& subject) {
  if (auto pending = take(id)) {
    try {
      throw_nats_error(status, "cannot send the request to " + subject);
    } catch (Error& error) {
      pending->done(std::move(error));
    }
  }
}

void CallMux::resend(std::uint64_t id) {
  std::string target;
  std::string body;
  Headers headers;
  bool with_progress = false;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end() || closed_) return;
    Pending& pending = it->second;
    // Disconnected: on_reconnected() sends it (see request()).
    if (pending.waiting_for_connection) return;
    pending.sent = true;
    ++pending.attempt;
    pending.sent_direct = !pending.agent.empty();
    target = pending.sent_direct ? wire::direct_subject(pending.agent, pending.options.tool)
                                 : pending.subject;
    body = pending.body;
    with_progress = static_cast<bool>(pending.options.progress);
    // The agent computes its deadline from what is left of ours.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        pending.deadline - std::chrono::steady_clock::now());
    for (const auto& [name, value] : pending.options.headers) {
      if (name == wire::kTimeoutHeader) {
        headers.emplace_back(name, std::to_string(std::max<std::int64_t>(left.count(), 1)));
      } else if (name != wire::kAttemptHeader) {
        headers.emplace_back(name, value);
      }
    }
    headers.emplace_back(wire::kAttemptHeader, std::to_string(pending.attempt));
  }
  const natsStatus status = publish(id, target, body, headers, with_progress);
  if (status != NATS_OK) publish_failed(id, status, target);
}

std::optional<CallMux::Pending> CallMux::take(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  return take_locked(id);
}

std::optional<CallMux::Pending> CallMux::take_locked(std::uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return std::nullopt;
  Pending pending = std::move(it->second);
  pending_.erase(it);
  auto [first, last] = deadlines_.equal_range(pending.deadline);
  for (auto d = first; d != last; ++d) {
    if (d->second == id) {
      deadlines_.erase(d);
      break;
    }
  }
  return pending;
}

void CallMux::on_reply(NatsMsgPtr msg) {
  const std::string_view subject = message_subject(msg.get());
  const std::string_view token = subject.substr(subject.rfind('.') + 1);
  std::uint64_t id = 0;
  if (std::from_chars(token.data(), token.data() + token.size(), id).ec != std::errc{}) return;
  const std::string status = message_header(msg.get(), wire::kStatusHeader);
  if (status == wire::kProgressStatus) {
    on_progress(id, msg.get());
  } else if (is_no_responders(msg.get())) {
    on_no_responders(id);
  } else if (status == wire::kAcceptedStatus) {
    on_accepted(id, msg.get());
  } else {
    on_final_reply(id, msg.get(), status);
  }
}

void CallMux::on_progress(std::uint64_t id, natsMsg* msg) {
  ProgressCallback progress;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // the call already ended
    progress = it->second.options.progress;
  }
  if (progress) progress(message_body(msg));
}

void CallMux::on_no_responders(std::uint64_t id) {
  enum class Next { no_such_tool, again_later, retry_elsewhere, outcome_unknown };
  Next next = Next::no_such_tool;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    Pending& pending = it->second;
    const auto now = std::chrono::steady_clock::now();
    if (pending.options.retry && pending.attempt >= 2) {
      // A retry right after a reconnect may arrive before the agent, which may have lost its
      // node too, has subscribed again: give it a moment before concluding anything.
      if (!pending.unanswered_since) pending.unanswered_since = now;
      if (now - *pending.unanswered_since < kRetryGrace && now + kRetryPause < pending.deadline) {
        next = Next::again_later;
        resends_.emplace(now + kRetryPause, id);
        arm_locked(now + kRetryPause);
      } else if (pending.sent_direct) {
        // The agent that took the call no longer listens on its direct subject: it is gone.
        next = pending.idempotent ? Next::retry_elsewhere : Next::outcome_unknown;
        pending.agent.clear();
        pending.unanswered_since.reset();
      }
    }
  }
  if (next == Next::again_later) return;
  if (next == Next::retry_elsewhere) {
    resend(id);
  } else if (auto pending = take(id)) {
    if (next == Next::outcome_unknown) {
      pending->done(Error(
          Errc::outcome_unknown,
          "outcome unknown: the agent that took the call is gone (" + pending->subject + ")"));
    } else {
      pending->done(Error(Errc::no_such_tool, "nobody serves " + pending->subject));
    }
  }
}

void CallMux::on_accepted(std::uint64_t id, natsMsg* msg) {
  // An acknowledgement: remember who took the call; the reply comes later.
  std::lock_guard lock(mutex_);
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  it->second.agent = message_header(msg, wire::kAgentHeader);
  it->second.idempotent = message_header(msg, wire::kIdempotentHeader) == "1";
  it->second.unanswered_since.reset();
}

void CallMux::on_final_reply(std::uint64_t id, natsMsg* msg, const std::string& status) {
  auto pending = take(id);
  if (!pending) return;  // a late reply (timed out) or a second reply from another node
  std::string body(message_body(msg));
  if (status == wire::kBusyStatus) {
    const auto error = wire::ErrorReply::from_json(wire::parse_body(body));
    pending->done(Error(Errc::busy, error ? error->message : "busy: " + pending->subject));
    return;
  }
  pending->done(std::move(body));
}

void CallMux::arm_locked(std::chrono::steady_clock::time_point when) {
  if (closed_ || (armed_ && armed_at_ <= when)) return;
  // The tick armed before (if any) stays scheduled but does nothing: cancelling it could race
  // with its start.
  armed_ = true;
  armed_at_ = when;
  const auto generation = ++armed_generation_;
  timer_.schedule(when, [this, generation] { tick(generation); });
}

void CallMux::tick(std::uint64_t generation) {
  std::vector<Pending> expired;
  std::vector<Pending> unknown;
  std::vector<std::uint64_t> due;
  {
    std::lock_guard lock(mutex_);
    if (generation != armed_generation_ || closed_) return;  // replaced by an earlier tick
    armed_ = false;
    const auto now = std::chrono::steady_clock::now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto node = pending_.extract(deadlines_.begin()->second);
      deadlines_.erase(deadlines_.begin());
      if (!node.empty()) expired.push_back(std::move(node.mapped()));
    }
    while (!resends_.empty() && resends_.begin()->first <= now) {
      const auto id = resends_.begin()->second;
      resends_.erase(resends_.begin());
      if (unknown_unless_acknowledged_.erase(id) == 0) {
        due.push_back(id);
        continue;
      }
      // Still unacknowledged after the gone announcement: the gone agent took it.
      const auto found = pending_.find(id);
      if (found != pending_.end() && found->second.agent.empty()) {
        if (auto pending = take_locked(id)) unknown.push_back(std::move(*pending));
      }
    }
    if (!deadlines_.empty()) arm_locked(deadlines_.begin()->first);
    if (!resends_.empty()) arm_locked(resends_.begin()->first);
  }
  for (auto& pending : expired) {
    pending.done(Error(Errc::timeout, "no reply from " + pending.subject + " within " +
                                          std::to_string(pending.timeout.count()) + " ms"));
  }
  for (auto& pending : unknown) {
    pending.done(
        Error(Errc::outcome_unknown,
              "outcome unknown: the agent that took the call is gone (" + pending.subject + ")"));
  }
  for (const auto id : due) resend(id);  // a request that ended meanwhile is skipped
}

void CallMux::fail_all(Errc code, const std::string& message) {
  std::unordered_map<std::uint64_t, Pending> failed;
  {
    std::lock_guard lock(mutex_);
    failed.swap(pending_);
    deadlines_.clear();
    resends_.clear();
    unknown_unless_acknowledged_.clear();
  }
  for (auto& [id, pending] : failed) {
    pending.done(Error(code, message + " (" + pending.subject + ")"));
  }
}

}  // namespace polaris::detail
