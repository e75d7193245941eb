// Internal: waiting for SIGINT/SIGTERM or another event.
#pragma once

namespace polaris::detail {

/// Blocks until SIGINT/SIGTERM (returns the signal number) or until `other_fd` becomes readable
/// or hangs up (returns 0). other_fd < 0: wait for a signal only.
int wait_for_signal_or(int other_fd);

}  // namespace polaris::detail
