// Internal: a connection's requests to the registry.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <string_view>

#include "client/call_mux.hpp"
#include "polaris/json.hpp"

namespace polaris::detail {

/// How a registry request is sent: its timeout (empty: request_timeout) and whether a disconnect
/// keeps it for the reconnect instead of failing it (registrations).
struct RegistryAttempt {
  std::optional<std::chrono::milliseconds> timeout;
  bool retry = false;
};

/// Sends requests to the registry over the connection's CallMux and reads their replies; knows
/// where registry writes go: this user's own subject (wire::user_subject, which proves the
/// sender under roles), or the shared subject for a connection without a user name or once a
/// registry answered only there.
///
/// Thread safety: all methods may be called from any thread (no lock: one atomic flag).
class RegistryChannel {
 public:
  /// `user`: the user name when it is a subject token, else empty.
  RegistryChannel(CallMux& mux, std::chrono::milliseconds request_timeout, std::string user)
      : mux_(mux), request_timeout_(request_timeout), user_(std::move(user)) {}

  /// Sends a request; the future has the reply body, or the Error that ended the request
  /// (no_registry when nobody listens on `subject`).
  std::future<std::string> send(std::string_view subject, const std::string& body,
                                const RegistryAttempt& attempt);
  /// Sends a request and returns its reply as JSON. @throws Error (protocol: not JSON).
  Json request(std::string_view subject, const std::string& body,
               const RegistryAttempt& attempt = {});
  /// A write answered {"success", "msg"}. @throws Error(registration_failed) when refused.
  void status_request(std::string_view subject, const Json& body);

  /// Where a write with `verb` goes: the user's own subject, else `shared`.
  [[nodiscard]] std::string write_subject(std::string_view verb, std::string_view shared) const;
  /// Whether writes go to the user's own subjects.
  [[nodiscard]] bool user_subjects() const { return !user_.empty() && user_subjects_; }
  /// A registry answered only on the shared subjects: write there from now on.
  void use_shared_subjects() { user_subjects_ = false; }
  [[nodiscard]] const std::string& user() const { return user_; }
  [[nodiscard]] std::chrono::milliseconds request_timeout() const { return request_timeout_; }

 private:
  CallMux& mux_;
  const std::chrono::milliseconds request_timeout_;
  const std::string user_;
  /// False once a registry answered only on the shared write subjects (older than the per-user
  /// subjects, or a Go registry).
  std::atomic<bool> user_subjects_{true};
};

}  // namespace polaris::detail
