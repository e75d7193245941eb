// polaris: the command-line program (registry node and client commands).
#include <iostream>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "polaris/logging.hpp"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"polaris: distributed AI agents that use function calling", "polaris"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  // Flags win over POLARIS_LOG_LEVEL / POLARIS_LOG_FORMAT, which win over the defaults.
  const polaris::LogSettings from_env = polaris::log_settings_from_env({.level = "", .format = ""});
  std::string log_level = from_env.level;
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error or off (default: $POLARIS_LOG_LEVEL, else warn; "
                 "info for registry)")
      ->check(CLI::IsMember(
          std::vector<std::string>(polaris::kLogLevels.begin(), polaris::kLogLevels.end())));
  std::string log_format = from_env.format.empty() ? "text" : from_env.format;
  app.add_option("--log-format", log_format,
                 "text or json: one JSON object per line with time, level, logger, message "
                 "(default: $POLARIS_LOG_FORMAT, else text)")
      ->check(CLI::IsMember(
          std::vector<std::string>(polaris::kLogFormats.begin(), polaris::kLogFormats.end())));

  int exit_code = polaris::cli::kSuccess;
  polaris::cli::add_registry_command(app, exit_code);
  polaris::cli::add_tools_command(app, exit_code);
  polaris::cli::add_call_command(app, exit_code);
  polaris::cli::add_version_command(app, exit_code);
  polaris::cli::add_chat_command(app, exit_code);
  polaris::cli::add_mcp_command(app, exit_code);
  polaris::cli::add_status_command(app, exit_code);
  polaris::cli::add_stats_command(app, exit_code);
  polaris::cli::add_passwd_command(app, exit_code);

  // One logger for the whole program, on stderr so that stdout carries only results. Installed
  // before parsing so that nothing logs through an unconfigured default; set up again once the
  // flags are known.
  polaris::install_program_logger("polaris", {});
  app.parse_complete_callback([&] {
    const bool is_registry = app.got_subcommand("registry");
    const std::string level = !log_level.empty() ? log_level : is_registry ? "info" : "warn";
    polaris::install_program_logger("polaris", {.level = level, .format = log_format});
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::cerr << "error: " << error.what() << " (see polaris --help)\n";
    return polaris::cli::kUsage;
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {  // a failure no subcommand handled: still one line
    std::cerr << "error: " << error.what() << '\n';
    return polaris::cli::kFailure;
  }
}
