// Internal: asynchronous request/reply over one wildcard inbox subscription.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "polaris/error.hpp"
#include "transport/subscription.hpp"

namespace polaris::detail {

/// The outcome of one request: the reply body, or the Error that ended it.
using ReplyOutcome = std::variant<std::string, Error>;
using ReplyCallback = std::function<void(ReplyOutcome)>;
/// Receives the messages published on a request's progress subject.
using ProgressCallback = std::function<void(std::string_view body)>;
/// Headers sent with a request: (name, value) pairs.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// Sends requests with reply subjects "<inbox>.<n>" and routes replies back by n. Unlike nats.c's
/// own request calls it never blocks a thread per request, reports no-responders at once, and
/// fails every pending request the moment the connection drops (so callers can retry at once
/// instead of waiting out their timeout).
///
/// Each callback is invoked exactly once: on the reply's delivery thread, on the timer thread, on
/// the thread that calls fail_all(), or on the caller's thread when the publish itself fails.
/// Thread safety: all methods may be called from any thread.
class RequestMux {
 public:
  RequestMux(natsConnection* connection, std::string inbox_prefix);
  ~RequestMux();
  RequestMux(const RequestMux&) = delete;
  RequestMux& operator=(const RequestMux&) = delete;

  /// Sends `body` to `subject`; `done` receives the reply or the error.
  /// A reply carrying the header Polaris-Status: busy ends the request with Errc::busy.
  /// With `progress`, the request also carries a Polaris-Progress header naming a subject
  /// ("<inbox>.p<n>") whose messages go to `progress` until the request ends.
  void request(const std::string& subject, std::string_view body, std::chrono::milliseconds timeout,
               const Headers& headers, ReplyCallback done, ProgressCallback progress = {});

  /// Fails every pending request with `code` and `message` (e.g. when the connection drops).
  void fail_all(Errc code, const std::string& message);

  /// Fails pending requests with not_connected and stops the timer. Idempotent.
  void close();

 private:
  struct Pending {
    std::string subject;
    ReplyCallback done;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::milliseconds timeout;
    ProgressCallback progress;
  };

  void on_reply(NatsMsgPtr msg);
  void run_timer();
  std::optional<Pending> take(std::uint64_t id);

  natsConnection* connection_;
  std::string inbox_;
  std::mutex mutex_;
  std::condition_variable timer_cv_;
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::multimap<std::chrono::steady_clock::time_point, std::uint64_t> deadlines_;
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
  Subscription subscription_;
  std::thread timer_;
};

}  // namespace polaris::detail
