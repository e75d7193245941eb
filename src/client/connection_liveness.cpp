// Connection::Impl: keepalives (split to fit the max payload), heartbeats and resync requests,
// all on the connection's timer thread, none of them blocking it.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "client/connection_impl.hpp"
#include "client/payload_split.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"
#include "transport/message.hpp"

namespace polaris {
namespace {

// A registry asking again and again (e.g. a loop between two nodes) gets one keepalive per gap.
constexpr auto kResyncGap = std::chrono::milliseconds(500);

}  // namespace

void Connection::Impl::start_liveness() {
  // Runs `send` every `interval` on the timer thread, each run scheduling the next.
  struct Repeat {
    Impl* impl;
    std::chrono::milliseconds interval;
    void (Impl::*send)();
    void operator()() const {
      (impl->*send)();
      impl->timer_->schedule(detail::Timer::Clock::now() + interval, *this);
    }
  };
  for (const Repeat repeat : {Repeat{this, options_.keepalive_interval, &Impl::send_keepalive},
                              Repeat{this, options_.heartbeat_interval, &Impl::send_heartbeat}}) {
    if (repeat.interval > std::chrono::milliseconds::zero()) {
      timer_->schedule(detail::Timer::Clock::now() + repeat.interval, repeat);
    }
  }
}

void Connection::Impl::keepalive_soon() {
  timer_->schedule(detail::Timer::Clock::now(), [this] { send_keepalive(); });
}

void Connection::Impl::send_keepalive() {
  std::vector<std::string> declarations;
  {
    std::shared_lock lock(tools_mutex_);
    declarations.reserve(tools_.size());
    for (const auto& [name, local] : tools_) declarations.push_back(local->declaration.dump());
  }
  if (declarations.empty()) return;
  // Each part is an independent keepalive; none may exceed the max payload.
  const auto [open, close] = wire::KeepaliveRequest::envelope();
  const auto split =
      detail::split_bodies(declarations, open, close, static_cast<std::size_t>(max_payload()));
  if (!split.too_large.empty()) {
    log_->warn("keepalive: {} declaration(s) exceed the max payload and cannot be sent",
               split.too_large.size());
  }
  // Asynchronous: a slow registry must not delay heartbeats on this thread.
  for (std::size_t part = 0; part < split.bodies.size(); ++part) {
    const std::size_t count = split.members[part].size();
    mux_->request(
        write_subject(wire::kUserKeepaliveVerb, wire::kKeepaliveSubject), split.bodies[part],
        options_.request_timeout, [log = log_, count](detail::ReplyOutcome outcome) {
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

void Connection::Impl::send_heartbeat() {
  std::size_t count = 0;
  {
    std::shared_lock lock(tools_mutex_);
    count = tools_.size();
  }
  if ((count == 0 && !registering_) ||
      natsConnection_Status(connection_.get()) != NATS_CONN_STATUS_CONNECTED) {
    return;
  }
  const std::string body = wire::Heartbeat{agent_id_, count}.to_json().dump();
  const std::string subject = write_subject(wire::kUserHeartbeatVerb, wire::kAgentHeartbeatSubject);
  const natsStatus status = natsConnection_Publish(connection_.get(), subject.c_str(), body.data(),
                                                   static_cast<int>(body.size()));
  if (status != NATS_OK) log_->debug("heartbeat not sent: {}", natsStatus_GetText(status));
}

void Connection::Impl::announce_back(const std::vector<std::string>& reply_subjects,
                                     std::string_view to) {
  // Replies published around the disconnect may be lost, and publishing them on the new
  // connection is refused under NATS permissions (allow_responses knows only the messages this
  // connection received): their callers ask again instead, and the reply cache answers. Only
  // reply subjects are named, never call ids, which would let others read cached replies.
  constexpr std::size_t kPerMessage = 500;  // about 30 KB, far below any max payload
  const std::string subject(to);
  for (std::size_t first = 0; first < reply_subjects.size(); first += kPerMessage) {
    const auto last = std::min(reply_subjects.size(), first + kPerMessage);
    const wire::AgentBack back{agent_id_,
                               {reply_subjects.begin() + static_cast<std::ptrdiff_t>(first),
                                reply_subjects.begin() + static_cast<std::ptrdiff_t>(last)}};
    const std::string body = back.to_json().dump();
    const natsStatus status = natsConnection_Publish(connection_.get(), subject.c_str(),
                                                     body.data(), static_cast<int>(body.size()));
    if (status != NATS_OK) {
      log_->debug("reconnection not announced: {}", natsStatus_GetText(status));
      return;
    }
  }
  if (!reply_subjects.empty()) {
    log_->debug("asked the callers of {} call(s) to send them again", reply_subjects.size());
  }
}

void Connection::Impl::on_agent_back(detail::NatsMsgPtr msg) {
  const auto back = wire::AgentBack::from_json(wire::parse_body(detail::message_body(msg.get())));
  if (!back) return;
  if (detail::RequestMux* mux = mux_ready_.load())
    mux->agent_back(back->agent, back->reply_subjects);
}

void Connection::Impl::on_caller_ask(detail::NatsMsgPtr msg) {
  const auto ask = wire::CallerAsk::from_json(wire::parse_body(detail::message_body(msg.get())));
  if (!ask) return;
  const std::string& inbox = ask->caller;
  if (inbox.find('.') == std::string::npos || inbox.find_first_of("*> ") != std::string::npos) {
    return;  // not an inbox: a prefix like "" or "_INBOX" would name every caller's
  }
  // NATS does not say who asks, but only the owner of the inbox reads what is sent below it
  // (under roles): an answer elsewhere would tell the asker another caller's reply subjects.
  const std::string reply = detail::message_reply(msg.get());
  if (!reply.starts_with(inbox + ".")) {
    log_->debug("ignored a question about {} to be answered on {}", inbox, reply);
    return;
  }
  if (const auto subjects = call_server_->calls_of(inbox); !subjects.empty()) {
    announce_back(subjects, reply);
  }
}

void Connection::Impl::ask_again(const std::string& reply_subject) {
  // Registry and service subjects are never reply subjects of calls.
  if (reply_subject.starts_with("polaris") || reply_subject.starts_with('$')) return;
  // A reconnect refuses a burst of replies (and nats-server may report one refusal twice):
  // they go out together.
  constexpr auto kGather = std::chrono::milliseconds(10);
  {
    std::lock_guard lock(refused_mutex_);
    const bool flush_scheduled = !refused_replies_.empty();
    refused_replies_.push_back(reply_subject);
    if (flush_scheduled) return;
  }
  timer_->schedule(detail::Timer::Clock::now() + kGather, [this] {
    std::vector<std::string> subjects;
    {
      std::lock_guard lock(refused_mutex_);
      subjects.swap(refused_replies_);
    }
    std::sort(subjects.begin(), subjects.end());
    subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
    announce_back(subjects);
  });
}

void Connection::Impl::request_resync() {
  detail::Timer::Clock::time_point at;
  {
    std::lock_guard lock(resync_mutex_);
    if (resync_scheduled_) return;  // the keepalive about to go covers this request too
    resync_scheduled_ = true;
    at = std::max(detail::Timer::Clock::now(), last_resync_ + kResyncGap);
  }
  log_->info("the registry asked for a resync; sending the keepalive");
  timer_->schedule(at, [this] {
    {
      std::lock_guard lock(resync_mutex_);
      resync_scheduled_ = false;
      last_resync_ = detail::Timer::Clock::now();
    }
    send_keepalive();
  });
}

}  // namespace polaris
