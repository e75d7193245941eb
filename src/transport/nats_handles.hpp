// Internal: owning handles for nats.c objects (one deleter per C type).
#pragma once

#include <nats/nats.h>

#include <memory>

namespace polaris::detail {

struct NatsConnectionDeleter {
  void operator()(natsConnection* connection) const noexcept { natsConnection_Destroy(connection); }
};
struct NatsOptionsDeleter {
  void operator()(natsOptions* options) const noexcept { natsOptions_Destroy(options); }
};
struct NatsMsgDeleter {
  void operator()(natsMsg* msg) const noexcept { natsMsg_Destroy(msg); }
};
struct NatsSubscriptionDeleter {
  void operator()(natsSubscription* subscription) const noexcept {
    natsSubscription_Destroy(subscription);
  }
};

using NatsConnectionPtr = std::unique_ptr<natsConnection, NatsConnectionDeleter>;
using NatsOptionsPtr = std::unique_ptr<natsOptions, NatsOptionsDeleter>;
using NatsMsgPtr = std::unique_ptr<natsMsg, NatsMsgDeleter>;
using NatsSubscriptionPtr = std::unique_ptr<natsSubscription, NatsSubscriptionDeleter>;

}  // namespace polaris::detail
