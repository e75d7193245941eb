#include "client/liveness.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "client/payload_split.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"
#include "transport/publish.hpp"

namespace polaris::detail {

void Liveness::start() {
  if (settings_.keepalive_interval > std::chrono::milliseconds::zero()) {
    repeat(settings_.keepalive_interval, &Liveness::send_keepalive);
  }
  if (settings_.heartbeat_interval > std::chrono::milliseconds::zero()) {
    repeat(settings_.heartbeat_interval, &Liveness::send_heartbeat);
  }
}

void Liveness::repeat(std::chrono::milliseconds interval, void (Liveness::*send)()) {
  // Each run schedules the next.
  timer_.schedule(Timer::Clock::now() + interval, [this, interval, send] {
    (this->*send)();
    repeat(interval, send);
  });
}

void Liveness::keepalive_soon() {
  timer_.schedule(Timer::Clock::now(), [this] { send_keepalive(); });
}

void Liveness::send_keepalive() {
  const std::vector<std::string> declarations = tools_.declarations();
  if (declarations.empty()) return;
  // Each part is an independent keepalive; none may exceed the max payload.
  const auto [open, close] = wire::KeepaliveRequest::envelope();
  const auto split =
      split_bodies(declarations, open, close, static_cast<std::size_t>(max_payload(connection_)));
  if (!split.too_large.empty()) {
    log_->warn("keepalive: {} declaration(s) exceed the max payload and cannot be sent",
               split.too_large.size());
  }
  // Asynchronous: a slow registry must not delay heartbeats on this thread.
  for (std::size_t part = 0; part < split.bodies.size(); ++part) {
    const std::size_t count = split.members[part].size();
    mux_.request(
        registry_.write_subject(wire::kUserKeepaliveVerb, wire::kKeepaliveSubject),
        split.bodies[part], settings_.request_timeout, [log = log_, count](ReplyOutcome outcome) {
          if (const auto* error = std::get_if<Error>(&outcome)) {
            log->warn("keepalive of {} tool(s) failed: {}", count, error->what());
            return;
          }
          const auto status =
              wire::StatusReply::from_json(wire::parse_body(std::get<std::string>(outcome)));
          if (status && !status->success) {
            log->warn("keepalive of {} tool(s): {}", count, status->msg);
          }
        });
  }
  log_->debug("keepalive of {} tool(s) in {} request(s)", declarations.size(), split.bodies.size());
}

void Liveness::send_heartbeat() {
  const std::size_t count = tools_.size();
  if ((count == 0 && !registering_) || !is_connected(connection_)) return;
  const std::string body = wire::Heartbeat{agent_id_, count}.to_json().dump();
  const std::string subject =
      registry_.write_subject(wire::kUserHeartbeatVerb, wire::kAgentHeartbeatSubject);
  const natsStatus status = publish(connection_, subject, {}, body);
  if (status != NATS_OK) log_->debug("heartbeat not sent: {}", status_text(status));
}

void Liveness::request_resync() {
  Timer::Clock::time_point at;
  {
    std::lock_guard lock(resync_mutex_);
    if (resync_scheduled_) return;  // the keepalive about to go covers this request too
    resync_scheduled_ = true;
    at = std::max(Timer::Clock::now(), last_resync_ + kResyncGap);
  }
  log_->info("the registry asked for a resync; sending the keepalive");
  timer_.schedule(at, [this] {
    {
      std::lock_guard lock(resync_mutex_);
      resync_scheduled_ = false;
      last_resync_ = Timer::Clock::now();
    }
    send_keepalive();
  });
}

}  // namespace polaris::detail
