// `polaris call NAME '{json}'`: call one tool and print its result.
#include <iostream>
#include <memory>

#include "cli/common.hpp"
#include "polaris/error.hpp"

namespace polaris::cli {

void add_call_command(CLI::App& app, int& exit_code) {
  struct Flags {
    std::vector<std::string> servers;
    std::string name;
    std::string arguments = "{}";
    std::string timeout;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* command = app.add_subcommand("call", "Call a tool and print its result as JSON");
  add_server_option(*command, flags->servers);
  command->add_option("name", flags->name, "Tool name")->required();
  command->add_option("arguments", flags->arguments, "Arguments as a JSON object (default {})");
  command->add_option("--timeout", flags->timeout, "Call timeout (e.g. 500ms, 30s; default 5s)");
  command->callback([flags, &exit_code] {
    const Json arguments = Json::parse(flags->arguments, nullptr, /*allow_exceptions=*/false);
    if (arguments.is_discarded() || !arguments.is_object()) {
      print_error("the arguments must be a JSON object, e.g. '{\"a\": 1}'");
      exit_code = kUsage;
      return;
    }
    CallOptions options;
    try {
      if (!flags->timeout.empty()) options.timeout = parse_duration(flags->timeout);
    } catch (const CLI::ValidationError& error) {
      print_error(error.what());
      exit_code = kUsage;
      return;
    }
    auto connection = connect_client(flags->servers, exit_code);
    if (!connection) return;
    try {
      std::cout << connection->call(flags->name, arguments, options).dump() << '\n';
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = exit_code_for(error);
    }
  });
}

}  // namespace polaris::cli
