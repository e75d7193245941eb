#include "transport/gather.hpp"

#include <algorithm>

#include "transport/nats_error.hpp"
#include "transport/nats_handles.hpp"

namespace polaris::detail {

std::vector<std::string> gather(natsConnection* connection, const std::string& subject,
                                std::string_view body, const GatherOptions& options) {
  natsInbox* raw_inbox = nullptr;
  check_nats(natsInbox_Create(&raw_inbox), "cannot create an inbox");
  const std::string inbox(raw_inbox);
  natsInbox_Destroy(raw_inbox);

  natsSubscription* raw_subscription = nullptr;
  check_nats(natsConnection_SubscribeSync(&raw_subscription, connection, inbox.c_str()),
             "cannot subscribe to " + inbox);
  const NatsSubscriptionPtr subscription(raw_subscription);
  check_nats(natsConnection_PublishRequest(connection, subject.c_str(), inbox.c_str(), body.data(),
                                           static_cast<int>(body.size())),
             "cannot publish on " + subject);

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + options.timeout;
  std::vector<std::string> replies;
  for (;;) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (!replies.empty()) wait = std::min(wait, options.quiet);
    if (wait <= std::chrono::milliseconds::zero()) break;
    natsMsg* raw = nullptr;
    const natsStatus status =
        natsSubscription_NextMsg(&raw, subscription.get(), static_cast<std::int64_t>(wait.count()));
    // nats.c turns the server's no-responders message into a status: nobody listens.
    if (status == NATS_TIMEOUT || status == NATS_NO_RESPONDERS) break;
    check_nats(status, "waiting for replies on " + subject);
    const NatsMsgPtr msg(raw);
    if (natsMsg_IsNoResponders(msg.get())) break;
    const char* data = natsMsg_GetData(msg.get());
    replies.emplace_back(data != nullptr ? data : "",
                         static_cast<std::size_t>(natsMsg_GetDataLength(msg.get())));
    if (options.max_replies != 0 && replies.size() >= options.max_replies) break;
  }
  natsSubscription_Unsubscribe(subscription.get());
  return replies;
}

}  // namespace polaris::detail
