#include "registry/claim_window.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace polaris::detail {

ClaimWindow::ClaimWindow(const Catalogue& catalogue, Timer& timer, Publish publish,
                         std::chrono::milliseconds replication_timeout, Logger log)
    : catalogue_(catalogue),
      timer_(timer),
      publish_(std::move(publish)),
      replication_timeout_(replication_timeout),
      log_(std::move(log)) {}

std::uint64_t ClaimWindow::begin_write(const std::vector<std::string>& peers, std::size_t parts) {
  return acks_.begin(peers, parts);
}

void ClaimWindow::confirm(std::uint64_t write, const std::string& node) {
  if (!acks_.confirm(write, node)) return;
  timer_.schedule(Clock::now(), [this] { answer_due(); });
}

void ClaimWindow::answer_when_replicated(PendingReply pending, Clock::time_point now) {
  pending.give_up = std::max(pending.due, now + replication_timeout_);
  if (pending.due <= now && acks_.complete(pending.write)) {
    answer(pending);
    return;
  }
  const auto due = pending.due;
  const auto give_up = pending.give_up;
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(pending));
  }
  // A look at the due time (which also catches a confirmation that came before the push), and
  // one at the give-up time; confirm() looks in between.
  timer_.schedule(due, [this] { answer_due(); });
  timer_.schedule(give_up, [this] { answer_due(); });
}

void ClaimWindow::answer_due() {
  const auto now = Clock::now();
  std::vector<PendingReply> due;
  {
    std::lock_guard lock(mutex_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if ((it->due <= now && acks_.complete(it->write)) || it->give_up <= now) {
        due.push_back(std::move(*it));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& pending : due) answer(pending);
}

// The final answer to a change: for a registration, each claim this node accepted must still
// stand.
void ClaimWindow::answer(PendingReply& pending) {
  if (pending.write != 0) {
    if (const auto missing = acks_.missing(pending.write); !missing.empty()) {
      std::string nodes;
      for (const auto& node : missing) nodes += (nodes.empty() ? "" : ", ") + node;
      log_->warn("answered a change without the confirmation of node(s) {} within {} ms", nodes,
                 replication_timeout_.count());
    }
    acks_.end(pending.write);
  }
  if (!pending.fixed.empty()) {
    if (!pending.reply_subject.empty()) publish_(pending.reply_subject, pending.fixed);
    return;
  }
  answer_registration(pending);
}

void ClaimWindow::answer_registration(PendingReply& pending) {
  for (const auto& [slot, claim] : pending.open) {
    const bool stands = catalogue_.holds(claim);
    pending.results[slot] = wire::RegisterResult{
        claim.name,
        {stands, stands ? "OK"
                        : "register: " + claim.name +
                              " already registered (another agent registered it first)"}};
  }
  if (pending.reply_subject.empty()) return;
  if (!pending.batch) {
    publish_(pending.reply_subject, pending.results.front()->status.to_json().dump());
    return;
  }
  wire::BatchRegisterReply reply{{true, "OK"}, {}};
  std::string failures;
  for (auto& result : pending.results) {
    if (!result->status.success) {
      reply.overall.success = false;
      failures += (failures.empty() ? "" : "; ") + result->status.msg;
    }
    reply.results.push_back(std::move(*result));
  }
  if (!reply.overall.success) reply.overall.msg = failures;
  publish_(pending.reply_subject, reply.to_json().dump());
}

}  // namespace polaris::detail
