// nats.c connection events, forwarded to Connection::Impl. The closure is the Impl itself: it
// outlives the nats.c connection because Impl::close() waits for the "closed" event, the last one
// nats.c delivers for a connection, before destroying it.
#include "client/connection_events.hpp"

#include <string>

#include "client/connection_impl.hpp"
#include "transport/message.hpp"
#include "transport/nats_error.hpp"

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

void on_error_event(natsConnection* connection, natsSubscription* subscription, natsStatus status,
                    void* closure) {
  const std::string reason = async_error_text(connection, status);
  const std::string subject = subscription_subject(subscription);
  static_cast<Connection::Impl*>(closure)->on_async_error(status, subject, reason);
}

}  // namespace polaris::detail
