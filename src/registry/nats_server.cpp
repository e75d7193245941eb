#include "registry/nats_server.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "polaris/security.hpp"
#include "security/secrets.hpp"

namespace polaris::detail {
namespace {

std::string quoted(const std::string& text) { return Json(text).dump(); }

int config_port(int port) { return port == 0 ? -1 : port; }

std::string nats_server_binary(const RegistryOptions& options) {
  if (!options.nats_server_path.empty()) return options.nats_server_path;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read-only use of the environment
  if (const char* env = std::getenv("POLARIS_NATS_SERVER"); env != nullptr && *env != '\0') {
    return env;
  }
  return "nats-server";
}

// nats-server's log lines look like "[pid] date time [INF] text": keep its level.
// `anonymous`: the password-less user of SystemAccount::anonymous makes nats-server warn about
// plaintext passwords, which the operator cannot act on.
void forward_line(const Logger& log, const std::string& line, bool anonymous) {
  if (anonymous && line.find("Plaintext passwords detected") != std::string::npos) {
    log->debug("nats-server: {}", line);
  } else if (line.find("[ERR]") != std::string::npos || line.find("[FTL]") != std::string::npos) {
    log->error("nats-server: {}", line);
  } else if (line.find("[WRN]") != std::string::npos) {
    log->warn("nats-server: {}", line);
  } else {
    log->debug("nats-server: {}", line);
  }
}

// The ports file nats-server writes once its listeners are up: {"nats": [...], "cluster": [...]}.
std::optional<Json> read_ports_file(const std::string& dir) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() != ".ports") continue;
    std::ifstream file(entry.path());
    std::stringstream text;
    text << file.rdbuf();
    Json ports = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (!ports.is_discarded() && ports.is_object()) return ports;
  }
  return std::nullopt;
}

// The port of the first URL in ports[key], or -1.
int port_from(const Json& ports, const char* key) {
  auto it = ports.find(key);
  if (it == ports.end() || !it->is_array() || it->empty() || !(*it)[0].is_string()) return -1;
  const auto& url = (*it)[0].get_ref<const std::string&>();
  const auto colon = url.rfind(':');
  if (colon == std::string::npos) return -1;
  return std::atoi(url.c_str() + colon + 1);  // NOLINT(cert-err34-c): validated below
}

std::string dial_host(const std::string& bind_host) {
  return bind_host.empty() || bind_host == "0.0.0.0" || bind_host == "::" ? "127.0.0.1" : bind_host;
}

// The user of SystemAccount::anonymous. It has no password (nats-server's no_auth_user must
// authenticate without one), so naming it gives what giving no credentials gives: the same.
constexpr const char* kAnonymousUser = "_polaris_anonymous";

void render_users(std::ostream& config, const NatsConfigExtras& extras,
                  const SystemAccount* system) {
  Json users = extras.users.is_array() ? extras.users : Json::array();
  if (system == nullptr) {
    if (!users.empty()) config << "authorization {\n  users: " << users.dump(2) << "\n}\n";
    return;
  }
  if (system->anonymous) {
    users.push_back({{"user", kAnonymousUser}});
    config << "no_auth_user: " << quoted(kAnonymousUser) << "\n";
  }
  const Json system_users =
      Json::array({{{"user", system->user}, {"password", system->password_hash}}});
  // Clients go to an account of their own: nats-server reports no connect or disconnect events
  // of its global account.
  config << "accounts {\n  " << quoted(kApplicationAccount) << ": {users: " << users.dump(2)
         << "}\n  " << quoted(SystemAccount::kAccount) << ": {users: " << system_users.dump()
         << "}\n}\n";
  config << "system_account: " << quoted(SystemAccount::kAccount) << "\n";
}

// Why nats-server did not come up, in one line: its exit and its last error line
// ("[pid] date time [FTL] Error listening on port: ..." -> "Error listening on port: ..."). Its
// whole output went to the log already.
std::string startup_failure(const ChildProcess& process, const std::string& what) {
  std::string reason;
  for (const auto& line : process.last_lines()) {
    for (const char* tag : {"[FTL] ", "[ERR] "}) {
      if (const auto at = line.find(tag); at != std::string::npos) reason = line.substr(at + 6);
    }
  }
  return what + " (" + process.describe_status() + ")" +
         (reason.empty() ? std::string() : ": " + reason);
}

}  // namespace

SystemAccount SystemAccount::make(bool anonymous) {
  SystemAccount system;
  system.password = random_secret(24);
  system.password_hash = bcrypt_hash(system.password, kSecretHashCost);
  system.anonymous = anonymous;
  return system;
}

std::vector<std::string> nats_server_environment() {
  std::vector<std::string> env;
  for (const char* name : {"PATH", "TZ", "GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG"}) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read-only use of the environment
    if (const char* value = std::getenv(name); value != nullptr) {
      env.push_back(std::string(name) + "=" + value);
    }
  }
  return env;
}

std::string render_nats_config(const RegistryOptions& options, const std::string& ports_dir,
                               const NatsConfigExtras& extras, const SystemAccount* system) {
  std::ostringstream config;
  config << "# generated by polaris registry\n";
  if (!options.server_name.empty())
    config << "server_name: " << quoted(options.server_name) << "\n";
  config << "host: " << quoted(options.bind.host) << "\n";
  config << "port: " << config_port(options.bind.port) << "\n";
  config << "max_payload: " << options.max_payload << "\n";
  config << "ports_file_dir: " << quoted(ports_dir) << "\n";
  if (options.client_ping_interval > std::chrono::milliseconds::zero()) {
    // nats-server takes whole seconds here; a client missing three pings is disconnected.
    const auto seconds = std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(options.client_ping_interval).count());
    config << "ping_interval: \"" << seconds << "s\"\n";
    config << "ping_max: 3\n";
  }
  if (options.monitor) {
    // Only when asked: it has no authentication and shows every connection to whoever reaches it.
    config << "http: "
           << quoted(options.monitor->host + ":" +
                     std::to_string(config_port(options.monitor->port)))
           << "\n";
  }
  if (!options.cluster.name.empty()) {
    config << "cluster {\n";
    config << "  name: " << quoted(options.cluster.name) << "\n";
    config << "  host: " << quoted(options.cluster.host) << "\n";
    config << "  port: " << config_port(options.cluster.port) << "\n";
    if (!options.cluster.advertise.empty()) {
      config << "  advertise: " << quoted(options.cluster.advertise) << "\n";
    }
    if (!options.routes.empty()) {
      config << "  routes: [\n";
      for (const auto& route : options.routes) config << "    " << quoted(route) << "\n";
      config << "  ]\n";
    }
    config << extras.cluster;
    config << "}\n";
  }
  config << extras.top_level;
  render_users(config, extras, system);
  return config.str();
}

void NatsServer::write_config(const NatsConfigExtras& extras) const {
  // Written aside and renamed, so nats-server never reads half a file on reload.
  const std::string config_path = dir_.path() + "/nats-server.conf";
  const std::string temporary = config_path + ".tmp";
  {
    std::ofstream config(temporary);
    config << render_nats_config(options_, dir_.path(), extras, system_ ? &*system_ : nullptr);
    if (!config) throw Error(Errc::process, "cannot write " + temporary);
  }
  std::filesystem::rename(temporary, config_path);
}

NatsServer::NatsServer(const RegistryOptions& options, const Logger& log,
                       const NatsConfigExtras& extras, std::optional<SystemAccount> system)
    : options_(options), system_(std::move(system)), dir_("polaris-registry-") {
  const std::string config_path = dir_.path() + "/nats-server.conf";
  write_config(extras);
  const std::string binary = nats_server_binary(options);
  process_ = std::make_unique<ChildProcess>(ChildProcessOptions{
      .argv = {binary, "-c", config_path},
      .extra_env = nats_server_environment(),
      .inherit_env = false,
      .on_line = [log, anonymous = system_ && system_->anonymous](
                     const std::string& line) { forward_line(log, line, anonymous); },
  });
  log->debug("started {} (pid {}) with {}", binary, process_->pid(), config_path);

  const auto deadline = std::chrono::steady_clock::now() + options.startup_timeout;
  std::optional<Json> ports;
  // nats-server offers no readiness notification other than this file, written once its
  // listeners accept: poll for it while watching the process.
  while (!(ports = read_ports_file(dir_.path()))) {
    if (process_->wait_for_exit(std::chrono::milliseconds(10))) {
      process_->stop();  // waits until its last output is read
      throw Error(Errc::process, startup_failure(*process_, "nats-server failed to start"));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      process_->stop(std::chrono::seconds(2));
      throw Error(
          Errc::process,
          startup_failure(*process_, "nats-server did not start within " +
                                         std::to_string(options.startup_timeout.count()) + " ms"));
    }
  }
  const int client_port = port_from(*ports, "nats");
  if (client_port <= 0) {
    throw Error(Errc::process, "nats-server reported no client port: " + ports->dump());
  }
  client_url_ = "nats://" + dial_host(options.bind.host) + ":" + std::to_string(client_port);
  if (const int port = port_from(*ports, "monitoring"); port > 0 && options.monitor) {
    monitoring_url_ = "http://" + dial_host(options.monitor->host) + ":" + std::to_string(port);
    // A reload must name the port nats-server chose.
    options_.monitor->port = port;
  }
  // A reload must name the ports nats-server chose: it cannot change a listener's port.
  options_.bind.port = client_port;
  if (!options.cluster.name.empty()) {
    const int cluster_port = port_from(*ports, "cluster");
    if (cluster_port > 0) {
      cluster_url_ =
          "nats://" + dial_host(options.cluster.host) + ":" + std::to_string(cluster_port);
      options_.cluster.port = cluster_port;
    }
  }
}

void NatsServer::reload(const NatsConfigExtras& extras) {
  write_config(extras);
  process_->signal(SIGHUP);
}

NatsServer::~NatsServer() = default;  // ChildProcess stops the server, TempDir removes the files

void NatsServer::stop() { process_->stop(); }

}  // namespace polaris::detail
