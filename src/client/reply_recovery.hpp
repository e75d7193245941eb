// Internal: replies that may be lost, recovered (docs/PROTOCOL.md, "Calls: ids,
// acknowledgements, retries"): an agent names the reply subjects of calls whose replies may be
// lost, and their callers send those calls again.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "client/call_mux.hpp"
#include "client/call_server.hpp"
#include "client/timer.hpp"
#include "common/log.hpp"
#include "protocol/wire.hpp"
#include "transport/nats_handles.hpp"

namespace polaris::detail {

/// Both sides of the exchange: as an agent it announces reply subjects (after a reconnect, when
/// the server refused replies, when a caller asks); as a caller it hands the subjects others
/// announce to its CallMux, which re-sends its calls among them.
///
/// Thread safety: all methods may be called from any thread; one mutex guards the refused
/// replies waiting to be announced. The timer must be stopped before this is destroyed.
class ReplyRecovery {
 public:
  /// `mux`: the connection's CallMux as its event threads see it (null until it exists and once
  /// it closed).
  ReplyRecovery(natsConnection* connection, std::string agent_id, Timer& timer,
                CallServer& call_server, const std::atomic<CallMux*>& mux, Logger log)
      : connection_(connection),
        agent_id_(std::move(agent_id)),
        timer_(timer),
        call_server_(call_server),
        mux_(mux),
        log_(std::move(log)) {}

  /// Names `reply_subjects` on `to` (kAgentBackSubject, or the reply subject of a caller's ask),
  /// so that their callers send those calls again.
  void announce_back(const std::vector<std::string>& reply_subjects,
                     std::string_view to = wire::kAgentBackSubject);
  /// An agent named reply subjects (on kAgentBackSubject, or answering our ask): ours among them
  /// are re-sent to it.
  void on_agent_back(const NatsMsgPtr& msg);
  /// A caller asks for its calls (wire::kCallerAskSubject): answered below its own inbox only.
  void on_caller_ask(const NatsMsgPtr& msg);
  /// The server refused a publication to `reply_subject`: its caller is asked, with the others
  /// refused within a few milliseconds, to send the call again (announce_back).
  void ask_again(const std::string& reply_subject);

 private:
  void flush_refused();

  natsConnection* connection_;
  const std::string agent_id_;
  Timer& timer_;
  CallServer& call_server_;
  const std::atomic<CallMux*>& mux_;
  const Logger log_;
  std::mutex mutex_;
  std::vector<std::string> refused_replies_;  // to announce; a flush is scheduled if any
};

}  // namespace polaris::detail
