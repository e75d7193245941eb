#include "cli/common.hpp"

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "polaris/error.hpp"

namespace polaris::cli {

void add_server_option(CLI::App& command, std::vector<std::string>& servers) {
  command
      .add_option("-s,--server", servers,
                  "Registry URL, repeatable (default: $POLARIS_SERVERS, comma-separated, "
                  "else nats://127.0.0.1:4222)")
      // CLI11 2.1 lets a vector option swallow the positional arguments after it.
      ->allow_extra_args(false);
  command.footer(
      "Environment: POLARIS_SERVERS (registry URLs, comma-separated); credentials never go on the "
      "command line: POLARIS_USER and POLARIS_PASSWORD, or POLARIS_TOKEN; TLS: POLARIS_TLS_CA "
      "(CA file), POLARIS_TLS_CERT and POLARIS_TLS_KEY (client certificate) (docs/SECURITY.md).");
}

namespace {

std::string env_or_empty(const char* name) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

void apply_credentials_from_env(ConnectOptions& options) {
  options.user = env_or_empty("POLARIS_USER");
  options.password = env_or_empty("POLARIS_PASSWORD");
  options.token = env_or_empty("POLARIS_TOKEN");
  TlsOptions tls{.ca_file = env_or_empty("POLARIS_TLS_CA"),
                 .cert_file = env_or_empty("POLARIS_TLS_CERT"),
                 .key_file = env_or_empty("POLARIS_TLS_KEY")};
  if (!tls.ca_file.empty() || !tls.cert_file.empty()) options.tls = tls;
}

std::optional<Connection> connect_client(const std::vector<std::string>& servers, int& exit_code,
                                         int failure_code) {
  try {
    // A one-shot command does not need keepalives or its own tools.
    ConnectOptions options{.servers = servers,
                           .name = "polaris-cli",
                           .keepalive_interval = std::chrono::milliseconds::zero()};
    apply_credentials_from_env(options);
    return Connection(std::move(options));
  } catch (const Error& error) {
    print_error(error.what());
    exit_code = failure_code;
    return std::nullopt;
  }
}

HostPort parse_host_port(const std::string& flag, const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw CLI::ValidationError(flag, "must be HOST:PORT");
  HostPort address{.host = text.substr(0, colon)};
  std::size_t used = 0;
  try {
    address.port = std::stoi(text.substr(colon + 1), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() - colon - 1 || address.port < 0 || address.port > 65535) {
    throw CLI::ValidationError(flag, "bad port in '" + text + "'");
  }
  return address;
}

std::chrono::milliseconds parse_duration(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw CLI::ValidationError("duration",
                               "'" + text + "' is not a duration (e.g. 500ms, 5s, 10m)");
  }
  const std::string unit = text.substr(used);
  double factor = 0;
  if (unit.empty() || unit == "s")
    factor = 1000;
  else if (unit == "ms")
    factor = 1;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  if (factor == 0 || value < 0) {
    throw CLI::ValidationError("duration",
                               "'" + text + "' is not a duration (e.g. 500ms, 5s, 10m)");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * factor));
}

void print_error(const std::string& message) { std::cerr << "error: " << message << '\n'; }

int exit_code_for(const std::exception& error) {
  if (const auto* polaris_error = dynamic_cast<const Error*>(&error)) {
    switch (polaris_error->code()) {
      case Errc::connection_failed:
      case Errc::not_connected:
        return kCannotConnect;
      case Errc::invalid_argument:
        return kUsage;
      default:
        return kFailure;
    }
  }
  return kFailure;
}

Provider provider_flag(const std::string& name) {
  const auto provider = parse_provider(name);
  if (!provider) {
    throw Error(Errc::invalid_argument,
                "unknown provider " + name + " (gemini, vertex, openai or anthropic)");
  }
  return *provider;
}

}  // namespace polaris::cli
