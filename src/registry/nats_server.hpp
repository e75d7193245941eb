// Internal: the nats-server child a registry node supervises.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/nats_config_extras.hpp"
#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "polaris/registry.hpp"
#include "process/child_process.hpp"

namespace polaris::detail {

/// The account of every client when the registry configures a system account.
inline constexpr const char* kApplicationAccount = "POLARIS";

/// The system account the registry configures in its nats-server, and the one user in it: the
/// registry's second connection, which receives the server's events ($SYS.ACCOUNT.>) and asks
/// servers for their routes ($SYS.REQ.SERVER.>). A fresh random secret per registry process,
/// kept only in memory; the configuration file holds its bcrypt hash.
struct SystemAccount {
  static constexpr const char* kAccount = "$SYS";
  std::string user = "_polaris_system";
  std::string password;
  std::string password_hash;
  /// No users are configured: nats-server demands credentials as soon as any user exists (the
  /// system user), so clients without any are let in as a password-less user of
  /// kApplicationAccount, with every permission, as they were before.
  bool anonymous = false;

  /// A fresh user with a random secret.
  static SystemAccount make(bool anonymous);
};

/// The nats-server configuration for `options`, writing its ports file into `ports_dir`.
/// Port 0 becomes -1 (nats-server's "any free port"). `system` null: no system account (token
/// auth, where nats-server refuses accounts).
std::string render_nats_config(const RegistryOptions& options, const std::string& ports_dir,
                               const NatsConfigExtras& extras = {},
                               const SystemAccount* system = nullptr);

/// The environment the nats-server child gets: nothing of ours (our variables may hold the
/// plain passwords of the security configuration) but PATH, TZ and the Go runtime's tuning
/// variables (GOMAXPROCS, GOMEMLIMIT, GOGC, GODEBUG) when set.
std::vector<std::string> nats_server_environment();

/// A running nats-server: configuration in a private temporary directory (removed on
/// destruction), the process supervised, its output sent to the logger.
/// Thread safety: const methods may be called from any thread.
class NatsServer {
 public:
  /// Starts nats-server and waits until it listens.
  /// @throws Error(Errc::process), one line: how nats-server ended and its last error line,
  /// when it does not come up (its whole output went to the log).
  /// `system`: the system account to configure; nullopt: none.
  NatsServer(const RegistryOptions& options, const Logger& log, const NatsConfigExtras& extras = {},
             std::optional<SystemAccount> system = {});
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  [[nodiscard]] const std::string& client_url() const noexcept { return client_url_; }
  [[nodiscard]] const std::string& cluster_url() const noexcept { return cluster_url_; }
  [[nodiscard]] const ChildProcess& process() const noexcept { return *process_; }
  /// nats-server's HTTP monitoring endpoint, e.g. "http://127.0.0.1:8222"; empty unless
  /// RegistryOptions::monitor asked for one.
  [[nodiscard]] const std::string& monitoring_url() const noexcept { return monitoring_url_; }
  /// The system account's user, when one is configured.
  [[nodiscard]] const std::optional<SystemAccount>& system_account() const noexcept {
    return system_;
  }
  void stop();
  /// Rewrites the configuration with new `extras` (same ports) and makes nats-server reload it
  /// (SIGHUP). nats-server keeps its old configuration when the new one is invalid (it logs why).
  void reload(const NatsConfigExtras& extras);

 private:
  void write_config(const NatsConfigExtras& extras) const;

  RegistryOptions options_;
  std::optional<SystemAccount> system_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  std::string client_url_;
  std::string cluster_url_;
  std::string monitoring_url_;  // [observe]
};

}  // namespace polaris::detail
