// Internal: what every `polaris` subcommand shares.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "polaris/connection.hpp"
#include "polaris/llm.hpp"

namespace polaris::cli {

/// Exit codes of the polaris program.
enum ExitCode : int {
  kSuccess = 0,
  kFailure = 1,        ///< the operation failed (tool error, no such tool, timeout, ...)
  kUsage = 2,          ///< bad command line
  kCannotConnect = 3,  ///< no server could be reached
};

/// Adds --server to a client subcommand.
void add_server_option(CLI::App& command, std::vector<std::string>& servers);

/// Credentials from the environment, never from the command line (where `ps` shows them):
/// POLARIS_USER, POLARIS_PASSWORD, POLARIS_TOKEN, and TLS from POLARIS_TLS_CA, POLARIS_TLS_CERT,
/// POLARIS_TLS_KEY (docs/SECURITY.md).
void apply_credentials_from_env(ConnectOptions& options);

/// Connects for a client command (credentials: apply_credentials_from_env). On failure prints
/// "error: ...", sets `exit_code` to `failure_code` and returns nullopt.
std::optional<Connection> connect_client(const std::vector<std::string>& servers, int& exit_code,
                                         int failure_code = kCannotConnect);

/// Parses "500ms", "5s", "10m", "1h" or a plain number of seconds.
/// @throws CLI::ValidationError on anything else.
std::chrono::milliseconds parse_duration(const std::string& text);

/// A listening address given as HOST:PORT (e.g. --http 127.0.0.1:8080; port 0 picks a free one).
struct HostPort {
  std::string host{};
  int port = 0;
};
/// Parses HOST:PORT. @throws CLI::ValidationError naming `flag` on anything else.
HostPort parse_host_port(const std::string& flag, const std::string& text);

/// Prints "error: <message>" on stderr.
void print_error(const std::string& message);

/// Maps a polaris::Error to the program's exit code.
int exit_code_for(const std::exception& error);

/// "polaris 1.2.3 (nats.c 3.8.0)": what `polaris version` and `polaris --version` print.
std::string version_text();

void add_registry_command(CLI::App& app, int& exit_code);
void add_tools_command(CLI::App& app, int& exit_code);
void add_call_command(CLI::App& app, int& exit_code);
void add_version_command(CLI::App& app, int& exit_code);
void add_chat_command(CLI::App& app, int& exit_code);
void add_agent_command(CLI::App& app, int& exit_code);
void add_mcp_command(CLI::App& app, int& exit_code);
void add_status_command(CLI::App& app, int& exit_code);
void add_stats_command(CLI::App& app, int& exit_code);
void add_passwd_command(CLI::App& app, int& exit_code);
void add_completion_command(CLI::App& app, int& exit_code);
void add_console_command(CLI::App& app, int& exit_code);

/// The provider a --provider flag names. @throws Error(Errc::invalid_argument) naming the choices.
Provider provider_flag(const std::string& name);

}  // namespace polaris::cli
