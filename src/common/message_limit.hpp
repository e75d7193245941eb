// Internal: the largest single message polaris buffers from a peer it does not control.
#pragma once

#include <cstddef>
#include <string>

#include "polaris/error.hpp"

namespace polaris::detail {

/// 64 MiB: the largest max_payload nats-server accepts, so no polaris call or reply can carry
/// more; anything larger from an MCP server or a model API (a line, an SSE event, a JSON body) is
/// a broken or hostile peer, and buffering it without end would only exhaust memory.
inline constexpr std::size_t kMaxMessageBytes = std::size_t{64} * 1024 * 1024;

/// The error for a message over `limit`: `what` says which message ("a line", "an SSE event").
inline Error message_too_large(const std::string& what, std::size_t limit) {
  return Error(Errc::payload_too_large,
               what + " is larger than the limit of " + std::to_string(limit) + " bytes");
}

}  // namespace polaris::detail
