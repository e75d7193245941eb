// Internal: an agent's memory of call ids, so that a repeated call never runs twice.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace polaris::detail {

/// Calls by their Polaris-Call-Id: running ones (with the reply subjects of repeats that arrived
/// meanwhile) and answered ones (their reply, for `ttl`). A retry of an answered call is answered
/// from here; a retry of a running call gets the running call's reply; the handler runs once.
/// Bounded by count and bytes: the oldest answers are forgotten first.
///
/// Thread safety: all methods may be called from any thread.
class ReplyCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ReplyCache(std::chrono::milliseconds ttl = std::chrono::seconds(60),
                      std::size_t max_entries = 10000,
                      std::size_t max_bytes = std::size_t{64} * 1024 * 1024)
      : ttl_(ttl), max_entries_(max_entries), max_bytes_(max_bytes) {}

  enum class Kind {
    run,       ///< new: now recorded as running; the caller must finish() or abandon() it
    answered,  ///< already answered: `reply` holds the answer
    joined,    ///< still running: the reply subject will get the answer from finish()
    unknown,   ///< not known and `may_run` was false
  };
  struct Admission {
    Kind kind;
    std::string reply;
  };

  /// Looks `call_id` up; records `reply_subject` as a waiter when the call is running.
  Admission admit(const std::string& call_id, const std::string& reply_subject, bool may_run);
  /// The call finished with `reply`: remembers it; returns the reply subjects of repeats.
  std::vector<std::string> finish(const std::string& call_id, const std::string& reply);
  /// The call did not run (refused): forgets it; returns the reply subjects of repeats.
  std::vector<std::string> abandon(const std::string& call_id);
  /// The reply subjects of the calls still running (first attempts and repeats).
  [[nodiscard]] std::vector<std::string> running_reply_subjects() const;
  /// The reply subjects starting with `prefix` of every call it holds, running or answered.
  [[nodiscard]] std::vector<std::string> reply_subjects_under(const std::string& prefix) const;
  /// True while the call runs (or waits for a thread).
  [[nodiscard]] bool running(const std::string& call_id) const;
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    bool answered = false;
    std::string reply;
    std::string reply_subject;  // of the attempt that runs it
    std::vector<std::string> waiters;
  };
  void evict(Clock::time_point now);

  const std::chrono::milliseconds ttl_;
  const std::size_t max_entries_;
  const std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::pair<Clock::time_point, std::string>> answered_order_;  // oldest first
  std::size_t bytes_ = 0;
};

}  // namespace polaris::detail
