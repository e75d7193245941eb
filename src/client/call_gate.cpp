#include "client/call_gate.hpp"

#include <utility>

namespace polaris::detail {

NatsMsgPtr CallGate::admit(NatsMsgPtr msg) {
  std::lock_guard lock(mutex_);
  switch (state_) {
    case State::open:
      return msg;
    case State::held:
    case State::closed:
      // Bounded: a registration answers within milliseconds; beyond this the caller times out.
      if (held_.size() < kMaxHeld) held_.push_back(std::move(msg));
      return nullptr;
  }
  return nullptr;
}

std::deque<NatsMsgPtr> CallGate::open() {
  std::lock_guard lock(mutex_);
  state_ = State::open;
  return std::exchange(held_, {});
}

void CallGate::close() {
  std::lock_guard lock(mutex_);
  state_ = State::closed;
}

std::deque<NatsMsgPtr> CallGate::take_held() {
  std::lock_guard lock(mutex_);
  return std::exchange(held_, {});
}

}  // namespace polaris::detail
