// Internal: what a handler's Request knows about its call beyond the arguments.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "polaris/tool.hpp"

namespace polaris {

struct Request::Context {
  /// The caller's deadline, from its Polaris-Timeout header (or a local call's timeout).
  std::optional<std::chrono::steady_clock::time_point> deadline;
  /// Set when the agent is closing.
  const std::atomic<bool>* closing = nullptr;
  /// Where progress goes (Polaris-Progress header); empty: the caller did not ask.
  natsConnection* connection = nullptr;
  std::string progress_subject;
  /// A local call's progress goes straight to the caller's callback instead.
  std::function<void(const Json&)> local_progress;
  /// The LLM agents the call passed through (Polaris-Chain header, or a local call's options).
  std::vector<std::string> chain;
};

}  // namespace polaris
