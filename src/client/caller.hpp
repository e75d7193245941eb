// Internal: calling tools of other agents (docs/PROTOCOL.md, "Calls").
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "client/call_mux.hpp"
#include "client/tool_directory.hpp"
#include "polaris/connection.hpp"

namespace polaris::detail {

/// A name the caller may use in a subject: the reference allows more than polaris tool names, so
/// calls only refuse what would break the subject (empty, white space, wildcards).
/// @throws Error(invalid_argument)
void check_callable_name(std::string_view name);

/// A tool's reply as the call's value. @throws Error (tool_failed: an `_error` reply; protocol:
/// not a JSON object).
Json reply_to_value(const std::string& name, const std::string& body);

/// Sends calls with a call id, the caller's timeout and chain, and the options' retry policy, over
/// the connection's CallMux; a call's timeout is CallOptions::timeout, else the tool's declared
/// one (looked up once before its first call), else ConnectOptions::request_timeout.
///
/// Thread safety: all methods may be called from any thread (no lock: an atomic sequence).
class Caller {
 public:
  Caller(CallMux& mux, ToolDirectory& directory, natsConnection* connection, std::string agent_id,
         const std::atomic<bool>& closed)
      : mux_(mux),
        directory_(directory),
        connection_(connection),
        agent_id_(std::move(agent_id)),
        closed_(closed) {}

  /// Calls `name` on whichever agent serves it; exactly one of the callbacks runs, on a library
  /// thread (or throws here: closed, bad arguments, payload too large).
  void call(const std::string& name, const Json& arguments, const CallOptions& options,
            std::function<void(Json)> on_value, std::function<void(std::exception_ptr)> on_error);

 private:
  /// Sends a call whose timeout is decided.
  void send(const std::string& name, const std::string& body, const CallOptions& options,
            std::chrono::milliseconds timeout, std::function<void(Json)> on_value,
            std::function<void(std::exception_ptr)> on_error);

  CallMux& mux_;
  ToolDirectory& directory_;
  natsConnection* connection_;
  const std::string agent_id_;
  const std::atomic<bool>& closed_;
  std::atomic<std::uint64_t> sequence_{0};
};

}  // namespace polaris::detail
