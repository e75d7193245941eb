// polaris/error.hpp - the one error type of the library.
//
// Error policy (the whole library follows it): every failure is reported by throwing
// polaris::Error (or std::bad_alloc). Setup calls (connect, register_tool, Registry::start) and
// calls (call, call_async's future) alike. A missing value that is not a failure is returned as
// std::optional. Inside a tool handler, failure is reported by returning polaris::error(...) or by
// throwing anything; both become the wire's `_error` reply.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace polaris {

/// What went wrong, stable across versions; the message carries the details.
enum class Errc {
  invalid_argument,     ///< bad option, bad tool name, bad schema, bad JSON from the caller
  connection_failed,    ///< could not connect to any server in the list
  connection_lost,      ///< the connection dropped while a call was in flight (safe to retry)
  not_connected,        ///< the connection is closed or has not connected yet
  no_such_tool,         ///< nobody serves the tool (NATS no-responders)
  timeout,              ///< no reply before the request timeout
  tool_failed,          ///< the tool answered with an `_error` reply
  busy,                 ///< the tool's agent runs as many calls as it allows; retry later
  outcome_unknown,      ///< the agent that took the call is gone: it may or may not have run
  registration_failed,  ///< the registry refused a register/unregister request
  no_registry,          ///< no registry node answers on the registry subjects
  payload_too_large,    ///< a request or reply is larger than the server's max payload
  protocol,             ///< a peer answered with something that is not the protocol
  process,              ///< a child process (nats-server) failed to start or died
  internal,             ///< a bug or an unexpected failure of a library below us
  /// the server's permissions refuse this user the subject (a tool outside the caller's
  /// allow-list, a registration by a caller): see docs/SECURITY.md
  permission_denied,
};

/// Returns a short lower-case name, e.g. "no_such_tool".
std::string_view to_string(Errc code) noexcept;

/// The exception type of polaris. what() is a one-line message meant for humans.
class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  [[nodiscard]] Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

}  // namespace polaris
