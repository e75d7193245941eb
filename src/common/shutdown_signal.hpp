// Internal: waiting for SIGINT/SIGTERM or another event.
#pragma once

#include <cstddef>
#include <span>

namespace polaris::detail {

/// Blocks until SIGINT/SIGTERM (returns the signal number) or until `other_fd` becomes readable
/// or hangs up (returns 0). other_fd < 0: wait for a signal only.
int wait_for_signal_or(int other_fd);

/// Same with several descriptors (negative ones are ignored): returns 0 when one of them is
/// ready, with its index in `ready_index`.
int wait_for_signal_or(std::span<const int> other_fds, std::size_t& ready_index);

/// SIGHUP as a descriptor that becomes readable when the signal arrives (a self-pipe). The first
/// call installs the handler, which replaces SIGHUP's default action (terminating).
int hangup_fd();

/// Consumes the pending SIGHUP notifications; true when there was at least one.
bool take_hangup();

}  // namespace polaris::detail
