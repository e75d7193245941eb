#include "client/call_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "client/tool_runner.hpp"
#include "protocol/wire.hpp"
#include "transport/message.hpp"
#include "transport/publish.hpp"

namespace polaris::detail {

CallServer::CallServer(natsConnection* connection, std::string agent_id, Timer& timer,
                       const Logger& log, const std::atomic<bool>* closing)
    : connection_(connection),
      timer_(timer),
      log_(log),
      closing_(closing),
      publisher_(connection, std::move(agent_id), log) {}

void CallServer::answer(const std::string& reply_subject, const std::vector<std::string>& repeats,
                        const std::string& reply, std::string_view status) {
  if (!reply_subject.empty()) publisher_.reply(reply_subject, reply, status);
  for (const auto& repeat : repeats) {
    // A polaris caller retries with the reply subject of its first attempt: one reply is enough.
    if (repeat != reply_subject) publisher_.reply(repeat, reply, status);
  }
}

std::vector<std::string> CallServer::on_reconnected() {
  std::unique_lock gate(reply_gate_);
  std::vector<std::string> subjects = publisher_.on_reconnected();
  const auto running = cache_.running_reply_subjects();
  subjects.insert(subjects.end(), running.begin(), running.end());
  std::sort(subjects.begin(), subjects.end());
  subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
  return subjects;
}

std::vector<std::string> CallServer::calls_of(const std::string& inbox) const {
  auto subjects = cache_.reply_subjects_under(inbox + ".");
  std::sort(subjects.begin(), subjects.end());
  subjects.erase(std::unique(subjects.begin(), subjects.end()), subjects.end());
  return subjects;
}

void CallServer::serve(ServedTool& served, NatsMsgPtr msg) {
  const std::string reply_subject = message_reply(msg.get());
  // Calls without an id (reference callers) or without a reply subject are not deduplicated.
  const std::string call_id =
      reply_subject.empty() ? std::string() : message_header(msg.get(), wire::kCallIdHeader);
  const Tool& tool = served.tool;
  Timer::Id ack = 0;
  if (!call_id.empty()) {
    auto admission = cache_.admit(call_id, reply_subject, /*may_run=*/true);
    if (admission.kind == ReplyCache::Kind::answered) {
      log_->debug("tool {}: call {} answered from the reply cache", tool.name, call_id);
      publisher_.reply(reply_subject, admission.reply);
      return;
    }
    if (admission.kind == ReplyCache::Kind::joined) {
      // It has been running for a while: tell the caller at once who has it.
      publisher_.ack(reply_subject, tool.idempotent);
      return;
    }
    // A replicable tool that is not idempotent must be retried on this agent only: the caller
    // learns who took the call before anything can go wrong. Others are acknowledged only when
    // the call is not quick.
    if (tool.replicable && !tool.idempotent) {
      publisher_.ack(reply_subject, tool.idempotent);
    } else {
      ack = timer_.schedule(Timer::Clock::now() + kAckDelay,
                            [this, call_id, reply_subject, idempotent = tool.idempotent] {
                              if (cache_.running(call_id))
                                publisher_.ack(reply_subject, idempotent);
                            });
    }
  }
  // std::function needs a copyable job: share the message.
  std::shared_ptr<natsMsg> shared(msg.release(), NatsMsgDeleter{});
  const bool accepted =
      served.pool->try_submit([this, &served, shared, call_id, reply_subject, ack] {
        const std::string reply =
            call_reply(connection_, shared.get(), served.tool, log_, closing_, served.stats.get());
        if (ack != 0) timer_.cancel(ack);
        std::shared_lock gate(reply_gate_);
        const auto repeats =
            call_id.empty() ? std::vector<std::string>{} : cache_.finish(call_id, reply);
        answer(reply_subject, repeats, reply);
      });
  if (!accepted) {
    if (served.stats) served.stats->record_busy("busy");  // [observe]
    if (ack != 0) timer_.cancel(ack);
    std::shared_lock gate(reply_gate_);
    const auto repeats = call_id.empty() ? std::vector<std::string>{} : cache_.abandon(call_id);
    answer(reply_subject, repeats, busy_reply(tool, served.pool->load(), log_), wire::kBusyStatus);
  }
}

void CallServer::serve_unknown(std::string_view name, NatsMsgPtr msg) {
  const std::string reply_subject = message_reply(msg.get());
  if (reply_subject.empty()) return;
  const std::string call_id = message_header(msg.get(), wire::kCallIdHeader);
  if (!call_id.empty()) {
    auto admission = cache_.admit(call_id, reply_subject, /*may_run=*/false);
    if (admission.kind == ReplyCache::Kind::answered) {
      publisher_.reply(reply_subject, admission.reply);
      return;
    }
    if (admission.kind == ReplyCache::Kind::joined) return;  // answered when it finishes
  }
  publisher_.reply(reply_subject,
                   wire::error_reply("no such tool on this agent: " + std::string(name)).dump());
}

void forward_call(natsConnection* connection, natsMsg* msg, const Logger& log) {
  const natsStatus status = republish(connection, msg);
  if (status != NATS_OK) {
    log->warn("cannot hand on a call of {}: {}", message_subject(msg), status_text(status));
  }
}

}  // namespace polaris::detail
