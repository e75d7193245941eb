// Internal: holds a tool's calls while its registration is pending.
#pragma once

#include <deque>
#include <mutex>

#include "transport/nats_handles.hpp"

namespace polaris::detail {

/// A tool subscribes before it registers, so that NATS interest reaches every node before the
/// registration does (route traffic is ordered): no node lists a tool it cannot route calls to.
/// Calls arriving before the registry answers are held here: served once the registration
/// succeeds, handed on if it is refused. (Tool subscriptions share a queue group, so a call held
/// here went to no other agent: the refused agent unsubscribes, then publishes the held calls
/// again for the name's real owner.)
///
/// Thread safety: all methods may be called from any thread.
class CallGate {
 public:
  /// Returns the message when it should be served now; otherwise keeps or drops it.
  NatsMsgPtr admit(NatsMsgPtr msg);
  /// Registration succeeded: later calls pass; returns the held ones, oldest first.
  std::deque<NatsMsgPtr> open();
  /// Registration refused: keeps holding calls (until the subscription ends) for take_held().
  void close();
  /// The calls held, oldest first.
  std::deque<NatsMsgPtr> take_held();

 private:
  enum class State { held, open, closed };
  static constexpr std::size_t kMaxHeld = 10000;

  std::mutex mutex_;
  State state_ = State::held;
  std::deque<NatsMsgPtr> held_;
};

}  // namespace polaris::detail
