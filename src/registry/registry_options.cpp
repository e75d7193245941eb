#include "registry/registry_options.hpp"

#include <algorithm>
#include <string_view>

#include "polaris/error.hpp"

namespace polaris::detail {
namespace {

// nats://HOST:PORT, nats-route:// or tls:// (nats-server's route schemes), optionally with
// USER:PASSWORD@: checked here so that a typo is refused before nats-server starts.
bool is_route_url(std::string_view url) {
  std::string_view rest;
  for (const std::string_view scheme : {"nats://", "nats-route://", "tls://"}) {
    if (url.starts_with(scheme)) rest = url.substr(scheme.size());
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view host = rest.substr(0, colon);
  const std::string_view port = rest.substr(colon + 1);
  if (host.find_first_of("/ ") != std::string_view::npos) return false;
  if (port.empty() || port.size() > 5) return false;
  int value = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return value > 0 && value <= 65535;
}

bool port_ok(int port) { return port >= 0 && port <= 65535; }

void validate_durations(const RegistryOptions& options) {
  if (options.keepalive_deadline <= std::chrono::milliseconds::zero()) {
    throw Error(Errc::invalid_argument, "keepalive_deadline must be positive");
  }
  if (options.replication_timeout < std::chrono::milliseconds::zero()) {
    throw Error(Errc::invalid_argument, "replication_timeout must not be negative");
  }
  if (options.agent_timeout <= std::chrono::milliseconds::zero()) {
    throw Error(Errc::invalid_argument, "agent_timeout must be positive");
  }
}

void validate_cluster(const RegistryOptions& options) {
  const bool own_server = options.nats_urls.empty();
  if (own_server && options.cluster.name.empty()) {
    // nats-server would ignore these without a cluster block: refuse rather than not listen.
    if (!options.routes.empty()) throw Error(Errc::invalid_argument, "routes need a cluster name");
    if (options.cluster.port != 0 || !options.cluster.advertise.empty()) {
      throw Error(Errc::invalid_argument,
                  "a cluster port or advertise address needs a cluster name (--cluster-name)");
    }
  }
  for (const auto& route : options.routes) {
    if (!is_route_url(route)) {
      throw Error(Errc::invalid_argument,
                  "route '" + route + "' is not a URL like nats://HOST:PORT");
    }
  }
}

}  // namespace

void validate_registry_options(const RegistryOptions& options) {
  if (!port_ok(options.bind.port)) {
    throw Error(Errc::invalid_argument, "bind port must be 0-65535");
  }
  if (!port_ok(options.cluster.port)) {
    throw Error(Errc::invalid_argument, "cluster port must be 0-65535");
  }
  if (options.max_payload <= 0) throw Error(Errc::invalid_argument, "max_payload must be positive");
  validate_durations(options);
  validate_cluster(options);
  if (options.monitor && !port_ok(options.monitor->port)) {
    throw Error(Errc::invalid_argument, "monitor port must be 0-65535");
  }
  if (options.monitor && !options.nats_urls.empty()) {
    throw Error(Errc::invalid_argument,
                "monitor configures the launched nats-server; attach mode launches none");
  }
  if (options.disconnect_grace < std::chrono::milliseconds::zero()) {
    throw Error(Errc::invalid_argument, "disconnect_grace must not be negative");
  }
}

std::chrono::milliseconds sweep_interval_of(const RegistryOptions& options) {
  if (options.sweep_interval > std::chrono::milliseconds::zero()) return options.sweep_interval;
  // Often enough to notice a silent agent well within its timeout.
  return std::clamp(std::min(options.keepalive_deadline / 10, options.agent_timeout / 10),
                    std::chrono::milliseconds(10),
                    std::chrono::milliseconds(std::chrono::minutes(1)));
}

std::optional<SystemAccount> system_account_for(const RegistryOptions& options) {
  if (!options.nats_urls.empty()) return std::nullopt;
  if (options.security && !options.security->token.empty()) return std::nullopt;
  const bool users = options.security && !options.security->users.empty();
  return SystemAccount::make(/*anonymous=*/!users);
}

}  // namespace polaris::detail
