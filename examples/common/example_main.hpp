// Shared by the example programs: --help, and a one-line error instead of an abort.
// (Their logging and servers come from the environment: see handled_help().)
#pragma once

#include <exception>
#include <iostream>
#include <string_view>

namespace example {

/// True (after printing `usage`) when the first argument is --help or -h.
inline bool handled_help(int argc, char** argv, std::string_view usage) {
  if (argc > 1 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    std::cout << usage << "\n\n"
              << "environment:\n"
              << "  POLARIS_SERVERS     registry URLs, comma-separated (default "
                 "nats://127.0.0.1:4222)\n"
              << "  POLARIS_LOG_LEVEL   trace, debug, info, warn (default), error or off\n"
              << "  POLARIS_LOG_FORMAT  text (default) or json: one JSON object per line\n";
    return true;
  }
  return false;
}

/// Prints "error: <what>" and returns the exit status 1.
inline int report(const std::exception& error) {
  std::cerr << "error: " << error.what() << '\n';
  return 1;
}

}  // namespace example
