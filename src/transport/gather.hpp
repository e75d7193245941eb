// Internal: one request, many replies (every registry node's status, every agent's stats).
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace polaris::detail {

struct GatherOptions {
  /// The longest the whole gathering may take.
  std::chrono::milliseconds timeout{2000};
  /// Once a reply has arrived, stop after this long without another one.
  std::chrono::milliseconds quiet{300};
  /// Stop after this many replies; 0: no limit.
  std::size_t max_replies = 0;
};

/// Publishes `body` on `subject` with a fresh inbox as the reply subject and returns the bodies
/// of the replies, in arrival order, collected until the first of: a quiet period after a reply,
/// the timeout, max_replies, or the server's no-responders status (nobody listens: no replies).
/// Uses a synchronous subscription, so it costs no thread.
/// @throws Error when subscribing or publishing fails.
/// Thread safety: free function; any thread.
std::vector<std::string> gather(natsConnection* connection, const std::string& subject,
                                std::string_view body, const GatherOptions& options = {});

}  // namespace polaris::detail
