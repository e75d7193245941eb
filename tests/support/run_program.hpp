// Test support: running a program to completion and capturing what it printed.
#pragma once

#include <string>
#include <vector>

namespace polaris::test {

struct ProgramResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs argv (argv[0] a path) with extra "NAME=value" environment entries and `input` on its
/// standard input (empty: /dev/null); waits for it.
ProgramResult run_program(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env = {},
                          const std::string& input = {});

/// Runs the polaris program under test with `args` (argv[1] on).
ProgramResult run_polaris(std::vector<std::string> args);

}  // namespace polaris::test
