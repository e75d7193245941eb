// polaris/shutdown.hpp - waiting for SIGINT/SIGTERM in a program's main().
#pragma once

namespace polaris {

/// Blocks until the process receives SIGINT or SIGTERM; returns the signal number.
/// Installs handlers for both signals (process-wide by nature) the first time it is called.
int wait_for_shutdown();

}  // namespace polaris
