// polaris/security.hpp - a registry's security configuration: auth, TLS, roles, tool allow-lists.
// The file format and the design are described in docs/SECURITY.md.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/connection.hpp"

namespace polaris {

/// What a user may do; enforced by the NATS permissions the registry generates and by the
/// registry's own checks (listing and registration).
enum class Role {
  agent,   ///< registers and serves the tools of its list
  caller,  ///< lists and calls the tools of its list
  admin,   ///< everything
};

/// One user of the registry's nats-server.
struct UserConfig {
  std::string name{};           ///< [A-Za-z0-9_-]+; also the last token of its inbox prefix
  std::string password_hash{};  ///< bcrypt ("$2a$"/"$2b$"/"$2y$"), see hash_password()
  Role role = Role::caller;
  /// Tool names: for a caller the tools it may list and call, for an agent the tools it may
  /// register and serve. "*" alone: any tool. Ignored for admins.
  std::vector<std::string> tools{};
  /// An agent's: the tools it may also list and call, names only (an LLM agent serves its tool
  /// and calls these, docs/SECURITY.md "LLM agents"). Refused for other roles.
  std::vector<std::string> calls{};
};

/// TLS of a nats-server listener (client port or cluster port).
struct ServerTlsConfig {
  std::string cert_file{};  ///< PEM certificate chain
  std::string key_file{};   ///< PEM private key
  std::string ca_file{};    ///< CA bundle that verifies peers' certificates
  /// Client port: require and verify client certificates (mutual TLS). Routes always verify.
  bool verify_clients = false;
};

/// How the registry connects when it attaches to existing NATS servers (RegistryOptions::
/// nats_urls). Ignored when the registry launches its own nats-server.
struct AttachCredentials {
  std::string user{};
  std::string password{};
  std::string token{};
  std::optional<TlsOptions> tls{};
};

/// The security part of a registry's configuration. An empty config (no token, no users, no TLS)
/// is the open behaviour of the reference.
struct SecurityConfig {
  /// Token auth: every client presents this token and may do everything. Excludes `users`.
  std::string token{};
  /// User/password auth, with roles unless reference_compat is on.
  std::vector<UserConfig> users{};
  /// Users are authenticated but every user may do everything, with the reference's inboxes
  /// ("_INBOX.>"), so reference (Go) agents and callers work. Incompatible with roles.
  bool reference_compat = false;
  /// How long an agent may take to answer a call it received (NATS allow_responses expiry).
  std::chrono::seconds response_window{std::chrono::hours(1)};
  std::optional<ServerTlsConfig> tls{};          ///< the client port
  std::optional<ServerTlsConfig> cluster_tls{};  ///< the cluster (route) port
  /// The host name the registry's own connection expects in the server certificate; empty: the
  /// client bind host (127.0.0.1 when it binds every address).
  std::string tls_hostname{};
  AttachCredentials attach{};
  /// The file this was loaded from; when set, the registry re-reads it on SIGHUP.
  std::string source_file{};

  /// True when users have roles (users present and reference_compat off).
  [[nodiscard]] bool roles() const { return !users.empty() && !reference_compat; }
};

/// Reads a YAML security configuration (docs/SECURITY.md). Relative file names are relative to
/// the file's folder; `*_env` keys read values from the environment.
/// @throws Error(Errc::invalid_argument) naming the file and the problem.
SecurityConfig load_security_config(const std::string& path);

/// Checks the rules the YAML loader checks, for a config built in code.
/// @throws Error(Errc::invalid_argument)
void validate_security_config(const SecurityConfig& config);

/// The bcrypt cost of hash_password(). nats-server checks a connection's password after reading
/// its CONNECT and sends its first PING one ping interval (1 s by default,
/// RegistryOptions::client_ping_interval) later: a check that takes longer (a starved CPU) makes
/// that PING overtake the PONG the client's handshake waits for, and the connection fails
/// ("Expected 'PONG', got 'PING'"). Cost 8 takes about 15 ms on an idle core, so the check fits
/// in the ping interval even on a CPU shared 60 ways; cost 11 (about 0.12 s) did not beside a
/// CPU load (docs/SECURITY.md, "Passwords").
inline constexpr int kPasswordHashCost = 8;

/// A bcrypt hash of `password` (cost kPasswordHashCost, "$2b$"), which nats-server accepts in
/// place of the password. @throws Error(Errc::invalid_argument) for an empty password.
std::string hash_password(std::string_view password);

/// True when `password` matches the bcrypt `hash`.
bool password_matches(std::string_view password, const std::string& hash);

/// The inbox prefix of `user` when roles are on: "_INBOX.<user>". Connections set it through
/// ConnectOptions::inbox_prefix (by default derived from ConnectOptions::user the same way).
std::string inbox_prefix_for(std::string_view user);

}  // namespace polaris
