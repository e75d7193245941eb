// Internal: holds a tool's calls while its registration is pending.
#pragma once

#include <deque>
#include <mutex>

#include "transport/nats_handles.hpp"

namespace polaris::detail {

/// A tool subscribes before it registers, so that NATS interest reaches every node before the
/// registration does (route traffic is ordered): no node lists a tool it cannot route calls to.
/// Calls arriving before the registry answers are held here: served once the registration
/// succeeds, dropped if it is refused (the name's real owner, also subscribed, answers them).
///
/// Thread safety: all methods may be called from any thread.
class CallGate {
 public:
  /// Returns the message when it should be served now; otherwise keeps or drops it.
  NatsMsgPtr admit(NatsMsgPtr msg);
  /// Registration succeeded: later calls pass; returns the held ones, oldest first.
  std::deque<NatsMsgPtr> open();
  /// Registration refused: drops held calls and every later one.
  void close();

 private:
  enum class State { held, open, closed };
  static constexpr std::size_t kMaxHeld = 10000;

  std::mutex mutex_;
  State state_ = State::held;
  std::deque<NatsMsgPtr> held_;
};

}  // namespace polaris::detail
