// Internal: the client's call policy (docs/PROTOCOL.md, "Calls: ids, acknowledgements, retries"):
// asynchronous request/reply over one wildcard inbox subscription, with call ids, acknowledgements,
// retries across reconnects, gone and returning agents, idempotency and Polaris-Status.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "client/timer.hpp"
#include "polaris/error.hpp"
#include "transport/nats_handles.hpp"
#include "transport/publish.hpp"
#include "transport/subscription.hpp"

namespace polaris::detail {

/// The outcome of one request: the reply body, or the Error that ended it.
using ReplyOutcome = std::variant<std::string, Error>;
using ReplyCallback = std::function<void(ReplyOutcome)>;
/// Receives the messages published on a request's progress subject.
using ProgressCallback = std::function<void(std::string_view body)>;

/// How one request is sent beyond its subject, body and timeout.
struct RequestOptions {
  Headers headers;
  /// When set, the request also carries a Polaris-Progress header naming its own reply subject;
  /// the messages marked Polaris-Status: progress that arrive there go here until it ends.
  ProgressCallback progress;
  /// Tool calls: the Polaris-Call-Id sent with every attempt (set it in `headers` too).
  /// Acknowledgements (Polaris-Status: accepted) are recorded, never taken for the reply.
  std::string call_id;
  /// With a call id: a disconnect does not fail the request; it is re-sent once the connection
  /// is back, to the direct subject of the agent that acknowledged it, else to `subject`; when
  /// that agent is gone an idempotent call goes to `subject` again and any other fails with
  /// Errc::outcome_unknown. A retry that finds nobody listening is repeated for up to
  /// kRetryGrace before that conclusion. The deadline bounds all attempts.
  bool retry = false;
  /// The tool's name (for the agent's direct subject) and whether a retry may go to a replica.
  std::string tool;
};

/// Sends requests with reply subjects "<inbox>.<n>" and routes replies back by n. Unlike nats.c's
/// own request calls it never blocks a thread per request, reports no-responders at once, and
/// the moment the connection drops either fails a pending request (so its caller can act at once
/// instead of waiting out its timeout) or, for a call with retry, keeps it and re-sends it with
/// the same reply subject and call id when the connection is back.
///
/// Each callback is invoked exactly once: on the reply's delivery thread, on the timer thread, on
/// the thread that calls fail_all(), or on the caller's thread when the publish itself fails.
/// Deadlines and retries due run on the mux's own Timer (one job armed for the earliest).
/// Thread safety: all methods may be called from any thread; one mutex guards the pending calls.
/// call_mux.cpp: requests, replies and deadlines; call_mux_failover.cpp: disconnects, gone and
/// returning agents, refused requests.
class CallMux {
 public:
  CallMux(natsConnection* connection, std::string inbox_prefix);
  ~CallMux();
  CallMux(const CallMux&) = delete;
  CallMux& operator=(const CallMux&) = delete;

  /// Sends `body` to `subject`; `done` receives the reply or the error.
  /// A reply carrying the header Polaris-Status: busy ends the request with Errc::busy.
  void request(const std::string& subject, std::string_view body, std::chrono::milliseconds timeout,
               ReplyCallback done, RequestOptions options = {});

  /// The connection dropped: fails requests without retry with connection_lost, keeps the others.
  void on_disconnected();
  /// The connection is back: re-sends the requests kept by on_disconnected(). Returns how many
  /// of them were sent before and not acknowledged (their retries wait a moment, see
  /// kUnacknowledgedResendDelay).
  std::size_t on_reconnected();
  /// The prefix of this mux's reply subjects ("<inbox>.<n>").
  [[nodiscard]] const std::string& inbox() const { return inbox_; }
  /// An agent was declared gone: its acknowledged calls are retried elsewhere (idempotent) or
  /// fail with outcome_unknown. `tools` (name -> idempotent) are the tools it served: calls of
  /// those tools that no agent acknowledged may have gone to it too, and are treated alike.
  void agent_gone(const std::string& agent_id, const std::map<std::string, bool>& tools = {});

  /// An agent (polaris.agent.back) names the reply subjects of calls whose replies may be lost:
  /// it reconnected, or the server refused a reply. Ours among them are re-sent to it, with the
  /// same call id, at most kMaxAskedAgain times each.
  void agent_back(const std::string& agent_id, const std::vector<std::string>& reply_subjects);
  /// The server refused a publication to `subject` (nats.c reports permission violations
  /// asynchronously, after the publish returned): the requests whose last attempt went there
  /// fail at once with Errc::permission_denied instead of waiting out their timeout.
  /// Returns how many requests it failed.
  std::size_t publish_denied(const std::string& subject, const std::string& reason);

  /// Fails every pending request with `code` and `message`.
  void fail_all(Errc code, const std::string& message);

  /// Fails pending requests with not_connected and stops the timer. Idempotent.
  void close();

 private:
  struct Pending {
    std::string subject;
    ReplyCallback done;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::milliseconds timeout;
    RequestOptions options;
    std::string body;   // kept only for retries
    std::string agent;  // the agent that acknowledged the call; empty: none (yet)
    bool idempotent = false;
    int attempt = 1;
    int asked_again = 0;                  // attempts sent because the agent asked (agent_back)
    bool sent_direct = false;             // the last attempt went to the agent's direct subject
    bool waiting_for_connection = false;  // kept across a disconnect
    bool sent = false;                    // an attempt was published
    // Since when retries of this call find nobody listening.
    std::optional<std::chrono::steady_clock::time_point> unanswered_since;
  };
  /// How long retries that find nobody listening go on (every kRetryPause) before the call is
  /// given up: agents that lost their node too need a moment to subscribe again elsewhere.
  static constexpr std::chrono::milliseconds kRetryGrace{1000};
  static constexpr std::chrono::milliseconds kRetryPause{50};
  /// An unacknowledged call older than this was not taken by a live agent (agents acknowledge
  /// within 50 ms of receiving a call).
  static constexpr std::chrono::milliseconds kUnacknowledgedGrace{250};
  /// After a reconnect, how long a sent but unacknowledged call waits before it is sent again
  /// to the tool subject: time for the agent that has it to answer or announce itself.
  static constexpr std::chrono::milliseconds kUnacknowledgedResendDelay{250};
  /// How often an agent may ask for one call again: each reconnect asks once or twice, and a
  /// misconfigured server that refuses every reply must not start an endless exchange.
  static constexpr int kMaxAskedAgain = 16;

  void on_reply(NatsMsgPtr msg);
  /// Polaris-Status: progress: hands the body to the call's progress callback.
  void on_progress(std::uint64_t id, natsMsg* msg);
  /// The server's no-responders status for the call's last attempt.
  void on_no_responders(std::uint64_t id);
  /// Polaris-Status: accepted: remembers which agent took the call.
  void on_accepted(std::uint64_t id, natsMsg* msg);
  /// The reply itself (a busy refusal included): ends the call.
  void on_final_reply(std::uint64_t id, natsMsg* msg, const std::string& status);
  /// Runs on the timer: ends the calls past their deadline, sends the retries due.
  void tick(std::uint64_t generation);
  /// Makes sure the timer runs tick() at `when` or earlier. Under mutex_.
  void arm_locked(std::chrono::steady_clock::time_point when);
  std::optional<Pending> take(std::uint64_t id);
  std::optional<Pending> take_locked(std::uint64_t id);
  /// Publishes one attempt with reply subject "<inbox>.<id>".
  natsStatus publish(std::uint64_t id, const std::string& subject, std::string_view body,
                     const Headers& headers, bool with_progress);
  /// Sends the next attempt of a kept call (to the acknowledging agent, else the tool subject).
  void resend(std::uint64_t id);
  /// Ends a request whose publish failed, unless the connection took it with it and the
  /// request is kept for the reconnect.
  void publish_failed(std::uint64_t id, natsStatus status, const std::string& subject);
  void fail_publish(std::uint64_t id, natsStatus status, const std::string& subject);

  natsConnection* connection_;
  std::string inbox_;
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, Pending> pending_;
  std::multimap<std::chrono::steady_clock::time_point, std::uint64_t> deadlines_;
  std::multimap<std::chrono::steady_clock::time_point, std::uint64_t> resends_;  // retries due
  /// Calls of a gone agent's tool, too young to judge when it was announced: due in resends_,
  /// they end as outcome unknown then unless an agent acknowledged them meanwhile.
  std::set<std::uint64_t> unknown_unless_acknowledged_;
  std::uint64_t next_id_ = 1;
  /// Agents whose gone announcement was acted upon, and when (forgotten after kGoneMemory).
  std::map<std::string, std::chrono::steady_clock::time_point> gone_seen_;
  static constexpr std::chrono::seconds kGoneMemory{10};
  bool closed_ = false;
  /// Between on_disconnected() and on_reconnected(): kept requests are not published.
  bool connected_ = true;
  /// The tick armed on timer_: when it runs, and its generation (an earlier arming replaces it;
  /// a replaced tick that runs anyway does nothing).
  std::chrono::steady_clock::time_point armed_at_{};
  std::uint64_t armed_generation_ = 0;
  bool armed_ = false;
  Subscription subscription_;
  Timer timer_;  // last: stopped (joined) before the rest goes
};

}  // namespace polaris::detail
