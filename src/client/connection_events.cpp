// nats.c connection events, forwarded to Connection::Impl. The closure is the Impl itself: it
// outlives the nats.c connection because Impl::close() waits for the "closed" event, the last one
// nats.c delivers for a connection, before destroying it.
#include "client/connection_events.hpp"

#include "client/connection_impl.hpp"

namespace polaris::detail {

void on_disconnected_event(natsConnection* /*connection*/, void* closure) {
  static_cast<Connection::Impl*>(closure)->on_disconnected();
}

void on_reconnected_event(natsConnection* /*connection*/, void* closure) {
  static_cast<Connection::Impl*>(closure)->on_reconnected();
}

void on_closed_event(natsConnection* /*connection*/, void* closure) {
  static_cast<Connection::Impl*>(closure)->on_closed();
}

}  // namespace polaris::detail
