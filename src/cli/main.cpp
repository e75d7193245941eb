// polaris: the command-line program (registry node and client commands).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/common.hpp"
#include "polaris/logging.hpp"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"polaris: distributed AI agents that use function calling", "polaris"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  std::string log_level = "warn";
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error or off (default: warn; info for registry)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  std::string log_format = "text";
  app.add_option("--log-format", log_format,
                 "text (default) or json: one JSON object per line with time, level, logger, "
                 "message")
      ->check(CLI::IsMember({"text", "json"}));

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

  // One logger for the whole program, on stderr so that stdout carries only results.
  auto logger = spdlog::stderr_color_mt("polaris");
  spdlog::set_default_logger(logger);
  app.parse_complete_callback([&] {
    const bool is_registry = app.got_subcommand("registry");
    const auto level = app.get_option("--log-level")->count() > 0 || !is_registry
                           ? spdlog::level::from_str(log_level)
                           : spdlog::level::info;
    spdlog::set_level(level);
    if (log_format == "json") logger->set_formatter(polaris::make_json_log_formatter());
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
