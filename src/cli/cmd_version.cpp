// `polaris version`.
#include <nats/nats.h>

#include <iostream>

#include "cli/common.hpp"
#include "polaris/version.hpp"

namespace polaris::cli {

std::string version_text() {
  return "polaris " + std::string(version()) + " (nats.c " + nats_GetVersion() + ")";
}

void add_version_command(CLI::App& app, int& /*exit_code*/) {
  CLI::App* command = app.add_subcommand("version", "Print the version");
  command->callback([] { std::cout << version_text() << '\n'; });
}

}  // namespace polaris::cli
