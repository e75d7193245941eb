// Internal: C trampolines for nats.c connection events (closure: Connection::Impl*).
#pragma once

#include <nats/nats.h>

namespace polaris::detail {

void on_disconnected_event(natsConnection* connection, void* closure);
void on_reconnected_event(natsConnection* connection, void* closure);
void on_closed_event(natsConnection* connection, void* closure);

}  // namespace polaris::detail
