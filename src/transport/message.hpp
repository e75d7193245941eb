// Internal: reading nats.c messages.
#pragma once

#include <nats/nats.h>

#include <string>
#include <string_view>

namespace polaris::detail {

/// The value of header `name`; empty when absent.
inline std::string message_header(natsMsg* msg, const char* name) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, name, &value) != NATS_OK || value == nullptr) return {};
  return value;
}

/// The message's body.
inline std::string_view message_body(natsMsg* msg) {
  const char* data = natsMsg_GetData(msg);
  return {data != nullptr ? data : "", static_cast<std::size_t>(natsMsg_GetDataLength(msg))};
}

/// The message's subject.
inline std::string_view message_subject(natsMsg* msg) { return natsMsg_GetSubject(msg); }

/// Whether the message is the server's "no responders" status: nobody listens on the subject
/// the request went to.
inline bool is_no_responders(natsMsg* msg) { return natsMsg_IsNoResponders(msg); }

/// The subject of a subscription (e.g. the one an asynchronous error names); empty for none.
inline std::string subscription_subject(natsSubscription* subscription) {
  return subscription != nullptr ? std::string(natsSubscription_GetSubject(subscription)) : "";
}

/// The message's reply subject; empty when it has none.
inline std::string message_reply(natsMsg* msg) {
  const char* reply = natsMsg_GetReply(msg);
  return reply != nullptr ? reply : "";
}

}  // namespace polaris::detail
