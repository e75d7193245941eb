#include "client/reply_cache.hpp"

namespace polaris::detail {

ReplyCache::Admission ReplyCache::admit(const std::string& call_id,
                                        const std::string& reply_subject, bool may_run) {
  std::lock_guard lock(mutex_);
  evict(Clock::now());
  auto it = entries_.find(call_id);
  if (it == entries_.end()) {
    if (!may_run) return {Kind::unknown, {}};
    entries_.emplace(call_id, Entry{.reply_subject = reply_subject});
    return {Kind::run, {}};
  }
  if (it->second.answered) return {Kind::answered, it->second.reply};
  it->second.waiters.push_back(reply_subject);
  return {Kind::joined, {}};
}

std::vector<std::string> ReplyCache::finish(const std::string& call_id, const std::string& reply) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(call_id);
  if (it == entries_.end()) return {};
  auto waiters = std::move(it->second.waiters);
  it->second.waiters.clear();
  it->second.answered = true;
  it->second.reply = reply;
  bytes_ += call_id.size() + reply.size();
  answered_order_.emplace_back(Clock::now() + ttl_, call_id);
  evict(Clock::now());
  return waiters;
}

std::vector<std::string> ReplyCache::running_reply_subjects() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> subjects;
  for (const auto& [call_id, entry] : entries_) {
    if (entry.answered) continue;
    if (!entry.reply_subject.empty()) subjects.push_back(entry.reply_subject);
    subjects.insert(subjects.end(), entry.waiters.begin(), entry.waiters.end());
  }
  return subjects;
}

std::vector<std::string> ReplyCache::reply_subjects_under(const std::string& prefix) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> subjects;
  for (const auto& [call_id, entry] : entries_) {
    if (entry.reply_subject.starts_with(prefix)) subjects.push_back(entry.reply_subject);
    for (const auto& waiter : entry.waiters) {
      if (waiter.starts_with(prefix)) subjects.push_back(waiter);
    }
  }
  return subjects;
}

std::vector<std::string> ReplyCache::abandon(const std::string& call_id) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(call_id);
  if (it == entries_.end() || it->second.answered) return {};
  auto waiters = std::move(it->second.waiters);
  entries_.erase(it);
  return waiters;
}

bool ReplyCache::running(const std::string& call_id) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(call_id);
  return it != entries_.end() && !it->second.answered;
}

std::size_t ReplyCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void ReplyCache::evict(Clock::time_point now) {
  while (!answered_order_.empty() &&
         (answered_order_.front().first <= now || answered_order_.size() > max_entries_ ||
          bytes_ > max_bytes_)) {
    const auto it = entries_.find(answered_order_.front().second);
    if (it != entries_.end() && it->second.answered) {
      bytes_ -= it->first.size() + it->second.reply.size();
      entries_.erase(it);
    }
    answered_order_.pop_front();
  }
}

}  // namespace polaris::detail
