// Internal: how an agent takes a call: the reply cache, acknowledgements, the pool, the reply.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "client/reply_cache.hpp"
#include "client/reply_publisher.hpp"
#include "client/served_tool.hpp"
#include "client/timer.hpp"
#include "polaris/logging.hpp"
#include "transport/nats_handles.hpp"

namespace polaris::detail {

/// Serves the calls of every tool of one agent (docs/PROTOCOL.md, "Calls: ids,
/// acknowledgements, retries"): a call id already answered is answered from the cache, a repeat
/// of a running call waits for that call's reply, a new call is acknowledged (at once for a
/// replicable tool that is not idempotent, else after 50 ms) and runs on the tool's pool.
///
/// Thread safety: all methods may be called from any thread. The timer must be stopped before
/// the server is destroyed (ack jobs refer to it), and every pool drained.
class CallServer {
 public:
  static constexpr std::chrono::milliseconds kAckDelay{50};

  CallServer(natsConnection* connection, std::string agent_id, Timer& timer, const Logger& log,
             const std::atomic<bool>* closing);

  /// Serves one call of `tool`, from its tool subject or from the agent's direct subject.
  void serve(ServedTool& tool, NatsMsgPtr msg);
  /// A call on the direct subject of a tool this agent does not serve (any more): answered from
  /// the cache when it knows the call id, else with an `_error`.
  void serve_unknown(std::string_view name, NatsMsgPtr msg);

  [[nodiscard]] ReplyPublisher& publisher() { return publisher_; }
  /// The connection is back: re-sends recent replies, and returns the reply subjects of the calls
  /// whose replies may have been lost (running calls included: their replies will be published
  /// on a connection that never received them).
  std::vector<std::string> on_reconnected();
  /// A caller whose inbox is `inbox` reconnected (polaris.agent.back {"caller"}): the reply
  /// subjects of its calls this agent has or answered, whose acknowledgements and replies may
  /// have died with the caller's node.
  std::vector<std::string> calls_of(const std::string& inbox) const;

 private:
  /// Publishes `reply` to the caller and to every repeat that waited for it.
  void answer(const std::string& reply_subject, const std::vector<std::string>& repeats,
              const std::string& reply, std::string_view status = {});

  natsConnection* connection_;
  Timer& timer_;
  Logger log_;
  const std::atomic<bool>* closing_;
  // Finishing a call and recording its reply happen under a shared lock, and on_reconnected()
  // looks at both under the exclusive one: a call is then either still running or has its reply
  // recorded, never in between, where it would be missed.
  std::shared_mutex reply_gate_;
  ReplyCache cache_;
  ReplyPublisher publisher_;
};

/// Publishes a received call again on its subject, with its reply subject and headers, so that
/// another subscriber of the queue group takes it (a refused registration hands on the calls it
/// held). Never throws.
void forward_call(natsConnection* connection, natsMsg* msg, const Logger& log);

}  // namespace polaris::detail
