// `polaris version`.
#include <nats/nats.h>

#include <iostream>

#include "cli/common.hpp"
#include "polaris/version.hpp"

namespace polaris::cli {

void add_version_command(CLI::App& app, int& /*exit_code*/) {
  CLI::App* command = app.add_subcommand("version", "Print the version");
  command->callback(
      [] { std::cout << "polaris " << version() << " (nats.c " << nats_GetVersion() << ")\n"; });
}

}  // namespace polaris::cli
