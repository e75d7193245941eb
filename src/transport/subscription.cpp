#include "transport/subscription.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "transport/nats_error.hpp"

namespace polaris::detail {

struct Subscription::State {
  Callback callback;
  std::promise<void> completed;
  std::shared_future<void> completed_future = completed.get_future().share();
  std::atomic<std::thread::id> delivery_thread;
  std::atomic<bool> stopped{false};  // natsSubscription_Unsubscribe was called
  // Keeps the state alive until nats.c says it will not call us again.
  std::shared_ptr<State> self;

  static void on_message(natsConnection* /*connection*/, natsSubscription* /*subscription*/,
                         natsMsg* raw, void* closure) {
    auto* state = static_cast<State*>(closure);
    NatsMsgPtr msg(raw);
    state->delivery_thread = std::this_thread::get_id();
    try {
      state->callback(std::move(msg));
    } catch (...) {  // NOLINT(bugprone-empty-catch): callbacks report their own errors; never
                     // let an exception unwind into C code
    }
  }

  static void on_complete(void* closure) {
    auto* state = static_cast<State*>(closure);
    auto self = std::move(state->self);  // released when this function returns
    state->completed.set_value();
  }
};

Subscription::Subscription(natsConnection* connection, const std::string& subject,
                           const std::string& queue, Callback callback)
    : state_(std::make_shared<State>()) {
  state_->callback = std::move(callback);
  natsSubscription* raw = nullptr;
  const natsStatus status =
      queue.empty()
          ? natsConnection_Subscribe(&raw, connection, subject.c_str(), &State::on_message,
                                     state_.get())
          : natsConnection_QueueSubscribe(&raw, connection, subject.c_str(), queue.c_str(),
                                          &State::on_message, state_.get());
  check_nats(status, "cannot subscribe to " + subject);
  subscription_.reset(raw);
  state_->self = state_;
  const natsStatus complete_status =
      natsSubscription_SetOnCompleteCB(raw, &State::on_complete, state_.get());
  if (complete_status != NATS_OK) {
    // Without a completion callback we cannot know when delivery ends: refuse the subscription.
    state_->self.reset();
    natsSubscription_Unsubscribe(raw);
    subscription_.reset();
    throw_nats_error(complete_status, "cannot watch subscription " + subject);
  }
}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    state_ = std::move(other.state_);
    subscription_ = std::move(other.subscription_);
  }
  return *this;
}

Subscription::~Subscription() { unsubscribe(); }

void Subscription::drain() noexcept {
  if (!subscription_) return;
  if (state_->delivery_thread == std::this_thread::get_id() ||
      natsSubscription_Drain(subscription_.get()) != NATS_OK) {
    unsubscribe();
    return;
  }
  // The completion callback fires once the drain has delivered its last message.
  state_->completed_future.wait_for(std::chrono::seconds(30));
  subscription_.reset();
  state_.reset();
}

void Subscription::stop() noexcept {
  if (subscription_ && !state_->stopped.exchange(true)) {
    natsSubscription_Unsubscribe(subscription_.get());
  }
}

void Subscription::unsubscribe() noexcept {
  if (!subscription_) return;
  stop();
  if (state_->delivery_thread != std::this_thread::get_id()) {
    // Bounded: if the connection is already gone nats.c has completed (or will complete) the
    // subscription promptly; a stuck callback should not hang shutdown forever.
    state_->completed_future.wait_for(std::chrono::seconds(30));
  }
  subscription_.reset();
  state_.reset();
}

}  // namespace polaris::detail
