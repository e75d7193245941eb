// Test support: awaiting conditions instead of sleeping.
#pragma once

#include <chrono>
#include <functional>

namespace polaris::test {

/// Polls `condition` every few milliseconds until it holds (true) or `timeout` passes (false).
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// True when something accepts TCP connections on 127.0.0.1:port.
bool port_accepts(int port);

/// The port of a "nats://host:port" URL.
int port_of(const std::string& url);

}  // namespace polaris::test
