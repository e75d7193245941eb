// Internal: an owning NATS subscription whose callback never outlives it.
#pragma once

#include <nats/nats.h>

#include <functional>
#include <memory>
#include <string>

#include "transport/nats_handles.hpp"

namespace polaris::detail {

/// A subscription with a C++ callback. The callback owns the message it receives.
///
/// nats.c may deliver one last message after an unsubscribe, so the callback state is freed only
/// when nats.c reports the subscription complete; unsubscribe() waits for that (unless called from
/// the callback itself), so nothing the callback refers to may be used after unsubscribe returns.
///
/// Thread safety: the callback runs on the subscription's own nats.c delivery thread, one message
/// at a time. unsubscribe() may be called from any thread.
class Subscription {
 public:
  using Callback = std::function<void(NatsMsgPtr)>;

  Subscription() = default;
  /// Subscribes (with a queue group when `queue` is not empty).
  /// @throws Error on failure.
  Subscription(natsConnection* connection, const std::string& subject, const std::string& queue,
               Callback callback);
  ~Subscription();
  Subscription(Subscription&&) noexcept = default;
  Subscription& operator=(Subscription&&) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  [[nodiscard]] bool active() const noexcept { return subscription_ != nullptr; }
  /// Stops delivery; idempotent, never throws.
  void unsubscribe() noexcept;
  /// Asks nats.c to stop delivery without waiting for it to confirm: unsubscribe() (or the
  /// destructor) still waits. Stopping many subscriptions first, then unsubscribing each, waits
  /// for them together rather than one after the other.
  void stop() noexcept;
  /// Like unsubscribe(), but the server stops routing first: the messages it routed before it
  /// processed the unsubscription still reach the callback (nats.c drain; one round trip).
  /// Falls back to unsubscribe() when draining is not possible (e.g. disconnected).
  void drain() noexcept;

  struct State;

 private:
  std::shared_ptr<State> state_;
  NatsSubscriptionPtr subscription_;
};

}  // namespace polaris::detail
