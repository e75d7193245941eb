// Internal: C trampolines for nats.c connection events (closure: Connection::Impl*).
#pragma once

#include <nats/nats.h>

namespace polaris::detail {

void on_disconnected_event(natsConnection* connection, void* closure);
void on_reconnected_event(natsConnection* connection, void* closure);
void on_closed_event(natsConnection* connection, void* closure);
/// Asynchronous errors: permission violations, slow consumers.
void on_error_event(natsConnection* connection, natsSubscription* subscription, natsStatus status,
                    void* closure);

}  // namespace polaris::detail
