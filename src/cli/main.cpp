// polaris: the command-line program (registry node and client commands).
#include <iostream>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "polaris/logging.hpp"

namespace {

// "polaris mcp import": the command line of the deepest subcommand parsed so far.
std::string command_path(CLI::App& app) {
  std::string path = app.get_name();
  for (CLI::App* at = &app; !at->get_subcommands().empty();) {
    at = at->get_subcommands().front();
    path += " " + at->get_name();
  }
  return path;
}

std::string command_names(CLI::App& app) {
  std::string names;
  for (const CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + command->get_name();
  }
  return names;
}

int usage_error(const std::string& message, const std::string& help_command) {
  std::cerr << "error: " << message << " (see " << help_command << " --help)\n";
  return polaris::cli::kUsage;
}

// `polaris help [COMMAND [SUBCOMMAND]]`.
int print_help(CLI::App& app, const std::vector<std::string>& words) {
  CLI::App* at = &app;
  std::string path = app.get_name();
  for (const auto& word : words) {
    CLI::App* next = nullptr;
    try {
      next = at->get_subcommand(word);
    } catch (const CLI::OptionNotFound&) {
      return usage_error("unknown command '" + word + "' (commands: " + command_names(*at) + ")",
                         path);
    }
    at = next;
    path += " " + word;
  }
  // Not at->help(): that shows the help of the command being run (`help` itself) instead.
  std::cout << at->get_formatter()->make_help(at, path, CLI::AppFormatMode::Normal);
  return polaris::cli::kSuccess;
}

int run(int argc, char** argv) {
  CLI::App app{"polaris: distributed AI agents that use function calling", "polaris"};
  // A missing or unknown command is reported once parsed, naming the commands there are.
  app.require_subcommand(0, 1);
  app.fallthrough();  // global options may follow the subcommand
  // What no command takes (an unknown command, extra words, unknown flags) is kept, to be
  // reported below with the help of the command it was given to.
  app.allow_extras();
  app.set_version_flag(
      "--version", [] { return polaris::cli::version_text(); }, "Print the version and exit");
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
  polaris::cli::add_agent_command(app, exit_code);
  polaris::cli::add_mcp_command(app, exit_code);
  polaris::cli::add_status_command(app, exit_code);
  polaris::cli::add_stats_command(app, exit_code);
  polaris::cli::add_console_command(app, exit_code);
  polaris::cli::add_passwd_command(app, exit_code);
  polaris::cli::add_completion_command(app, exit_code);
  std::vector<std::string> help_words;
  CLI::App* help_command = app.add_subcommand("help", "Print the help of polaris or of a command");
  help_command->add_option("command", help_words, "A command, e.g. registry or mcp import");
  help_command->callback([&] { exit_code = print_help(app, help_words); });

  // One logger for the whole program, on stderr so that stdout carries only results. Installed
  // before parsing so that nothing logs through an unconfigured default; set up again once the
  // flags are known.
  polaris::install_program_logger("polaris", {});
  app.parse_complete_callback([&] {
    // Before any command runs: a missing or unknown command, or words no command takes.
    const std::vector<std::string> stray = app.remaining();
    if (app.get_subcommands().empty() && (stray.empty() || stray.front().rfind('-', 0) != 0)) {
      throw CLI::ValidationError(
          (stray.empty() ? "a command is required" : "unknown command '" + stray.front() + "'") +
          " (commands: " + command_names(app) + ")");
    }
    if (!stray.empty()) {
      throw CLI::ValidationError(
          (stray.front().rfind('-', 0) == 0 ? "unknown option '" : "unexpected argument '") +
          stray.front() + "'");
    }
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
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    return usage_error(error.what(), command_path(app));
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
