#include "client/reply_recovery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "protocol/messages.hpp"
#include "transport/message.hpp"
#include "transport/publish.hpp"

namespace polaris::detail {

void ReplyRecovery::announce_back(const std::vector<std::string>& reply_subjects,
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
    const natsStatus status = publish(connection_, subject, {}, back.to_json().dump());
    if (status != NATS_OK) {
      log_->debug("reconnection not announced: {}", status_text(status));
      return;
    }
  }
  if (!reply_subjects.empty()) {
    log_->debug("asked the callers of {} call(s) to send them again", reply_subjects.size());
  }
}

void ReplyRecovery::on_agent_back(const NatsMsgPtr& msg) {
  const auto back = wire::AgentBack::from_json(wire::parse_body(message_body(msg.get())));
  if (!back) return;
  if (CallMux* mux = mux_.load()) mux->agent_back(back->agent, back->reply_subjects);
}

void ReplyRecovery::on_caller_ask(const NatsMsgPtr& msg) {
  const auto ask = wire::CallerAsk::from_json(wire::parse_body(message_body(msg.get())));
  if (!ask) return;
  const std::string& inbox = ask->caller;
  if (inbox.find('.') == std::string::npos || inbox.find_first_of("*> ") != std::string::npos) {
    return;  // not an inbox: a prefix like "" or "_INBOX" would name every caller's
  }
  // NATS does not say who asks, but only the owner of the inbox reads what is sent below it
  // (under roles): an answer elsewhere would tell the asker another caller's reply subjects.
  const std::string reply = message_reply(msg.get());
  if (!reply.starts_with(inbox + ".")) {
    log_->debug("ignored a question about {} to be answered on {}", inbox, reply);
    return;
  }
  if (const auto subjects = call_server_.calls_of(inbox); !subjects.empty()) {
    announce_back(subjects, reply);
  }
}

void ReplyRecovery::ask_again(const std::string& reply_subject) {
  // Registry and service subjects are never reply subjects of calls.
  if (reply_subject.starts_with("polaris") || reply_subject.starts_with('$')) return;
  // A reconnect refuses a burst of replies (and nats-server may report one refusal twice):
  // they go out together.
  constexpr auto kGather = std::chrono::milliseconds(10);
  {
    std::lock_guard lock(mutex_);
    const bool flush_scheduled = !refused_replies_.empty();
    refused_replies_.push_back(reply_subject);
    if (flush_scheduled) return;
  }
  timer_.schedule(Timer::Clock::now() + kGather, [this] { flush_refused(); });
}

void ReplyRecovery::flush_refused() {
  std::vector<std::string> subjects;
  {
    std::lock_guard lock(mutex_);
    subjects.swap(refused_replies_);
  }
  std::sort(subjects.begin(), subjects.end());
  subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
  announce_back(subjects);
}

}  // namespace polaris::detail
