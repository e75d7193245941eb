// CallMux: what a connection's calls do when the connection drops and comes back, when an agent
// is declared gone or names calls whose replies may be lost, and when the server refuses a
// request (docs/PROTOCOL.md, "Calls: ids, acknowledgements, retries").
#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "client/call_mux.hpp"
#include "protocol/wire.hpp"

namespace polaris::detail {

void CallMux::on_disconnected() {
  std::vector<Pending> failed;
  {
    std::lock_guard lock(mutex_);
    connected_ = false;
    std::vector<std::uint64_t> ids;
    for (auto& [id, pending] : pending_) {
      if (pending.options.retry) {
        pending.waiting_for_connection = true;
      } else {
        ids.push_back(id);
      }
    }
    for (const auto id : ids) {
      if (auto pending = take_locked(id)) failed.push_back(std::move(*pending));
    }
  }
  for (auto& pending : failed) {
    pending.done(Error(Errc::connection_lost,
                       "the connection to the registry was lost (" + pending.subject + ")"));
  }
}

std::size_t CallMux::on_reconnected() {
  std::vector<std::uint64_t> kept;
  std::size_t unacknowledged = 0;
  {
    std::lock_guard lock(mutex_);
    connected_ = true;
    const auto later = std::chrono::steady_clock::now() + kUnacknowledgedResendDelay;
    for (auto& [id, pending] : pending_) {
      if (!pending.waiting_for_connection) continue;
      pending.waiting_for_connection = false;
      if (pending.sent && pending.agent.empty() && !pending.options.call_id.empty()) {
        // Sent, never acknowledged: an agent may have it (its acknowledgement lost with the node,
        // or it lost the same node and is reconnecting too). Give it a moment to answer or to
        // name the call in polaris.agent.back (then the retry goes to it) before any replica
        // may take the call again.
        resends_.emplace(later, id);
        arm_locked(later);
        ++unacknowledged;
      } else {
        kept.push_back(id);
      }
    }
  }
  for (const auto id : kept) resend(id);
  return unacknowledged;
}

void CallMux::agent_gone(const std::string& agent_id, const std::map<std::string, bool>& tools) {
  std::vector<std::uint64_t> again;
  std::vector<Pending> failed;
  {
    std::lock_guard lock(mutex_);
    // Every registry node announces a gone agent: act on the first announcement only, or an
    // unacknowledged idempotent call would be re-sent once per node, to different replicas.
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(gone_seen_, [&](const auto& seen) { return now - seen.second > kGoneMemory; });
    if (!gone_seen_.emplace(agent_id, now).second) return;
    std::vector<std::uint64_t> lost;
    for (auto& [id, pending] : pending_) {
      if (!pending.options.retry) continue;
      // Unacknowledged calls of the agent's tools: the agent may have taken them (it was dead or
      // hung for the whole agent timeout, so a live replica would have acknowledged them by now
      // unless the tool acknowledges lazily, which only idempotent and single-owner tools do).
      // A call younger than kUnacknowledgedGrace may be running on a live replica that has not
      // acknowledged it yet (acknowledgements may wait 50 ms): leave it alone.
      const auto tool = tools.find(pending.options.tool);
      const bool old_enough =
          std::chrono::steady_clock::now() - (pending.deadline - pending.timeout) >
          kUnacknowledgedGrace;
      const bool maybe_taken = pending.agent.empty() && tool != tools.end() && old_enough;
      if (maybe_taken) pending.idempotent = pending.idempotent || tool->second;
      // Too young to tell, and the agent may have taken it: when the announcement comes fast
      // (a closed connection, not a silent timeout), a call sent just before the crash is still
      // young here. An idempotent one is sent again once it is old enough, unless answered
      // meanwhile (an acknowledged one goes to its agent, whose reply cache answers it).
      // A call that is not idempotent ends as outcome unknown then, unless acknowledged.
      if (pending.agent.empty() && tool != tools.end() && !old_enough &&
          !pending.options.call_id.empty() && !pending.waiting_for_connection) {
        if (pending.idempotent || tool->second) {
          pending.idempotent = true;
        } else {
          unknown_unless_acknowledged_.insert(id);
        }
        const auto when = pending.deadline - pending.timeout + kUnacknowledgedGrace;
        resends_.emplace(when, id);
        arm_locked(when);
        continue;
      }
      if (pending.agent != agent_id && !maybe_taken) continue;
      if (pending.idempotent) {
        pending.agent.clear();  // any replica may run it again
        if (!pending.waiting_for_connection) again.push_back(id);
      } else {
        lost.push_back(id);
      }
    }
    for (const auto id : lost) {
      if (auto pending = take_locked(id)) failed.push_back(std::move(*pending));
    }
  }
  for (const auto id : again) resend(id);
  for (auto& pending : failed) {
    pending.done(
        Error(Errc::outcome_unknown,
              "outcome unknown: the agent that took the call is gone (" + pending.subject + ")"));
  }
}

void CallMux::agent_back(const std::string& agent_id,
                         const std::vector<std::string>& reply_subjects) {
  std::vector<std::uint64_t> again;
  {
    std::lock_guard lock(mutex_);
    const std::string prefix = inbox_ + ".";
    for (const auto& subject : reply_subjects) {
      if (!subject.starts_with(prefix)) continue;  // another caller's
      const std::string_view token = std::string_view(subject).substr(prefix.size());
      std::uint64_t id = 0;
      if (std::from_chars(token.data(), token.data() + token.size(), id).ec != std::errc{}) {
        continue;
      }
      auto it = pending_.find(id);
      if (it == pending_.end()) continue;  // answered after all
      Pending& pending = it->second;
      if (!pending.options.retry || pending.waiting_for_connection) continue;
      if (pending.asked_again >= kMaxAskedAgain) continue;
      ++pending.asked_again;
      // Straight back to that agent, which has the call (its acknowledgement may be what was
      // lost): it answers from its reply cache, or acknowledges again while the call runs.
      pending.agent = agent_id;
      again.push_back(id);
    }
  }
  for (const auto id : again) resend(id);
}

std::size_t CallMux::publish_denied(const std::string& subject, const std::string& reason) {
  std::vector<Pending> failed;
  {
    std::lock_guard lock(mutex_);
    std::vector<std::uint64_t> ids;
    for (const auto& [id, pending] : pending_) {
      // Where its last attempt went: permissions are per subject, so each request sent there
      // was refused (one sent after the refusal would be refused too).
      const std::string target = pending.sent_direct
                                     ? wire::direct_subject(pending.agent, pending.options.tool)
                                     : pending.subject;
      if (target == subject) ids.push_back(id);
    }
    for (const auto id : ids) {
      if (auto pending = take_locked(id)) failed.push_back(std::move(*pending));
    }
  }
  std::string message = "permission denied: the server does not let this user publish to ";
  message.append(subject).append(" (").append(reason).append(")");
  for (auto& pending : failed) pending.done(Error(Errc::permission_denied, message));
  return failed.size();
}

}  // namespace polaris::detail
