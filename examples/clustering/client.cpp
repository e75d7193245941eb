// clustering-client [COUNT [INTERVAL_MS]]: calls calculator(add, 1, 2) COUNT times (default 1).
#include <polaris/polaris.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include "calculator.hpp"

namespace {

// A node dying under a call fails it at once (connection_lost), and right after failover the
// tool may need a moment to be reachable again (no_such_tool): both are worth a retry.
Sum call_with_retry(polaris::Connection& client, const Calc& args) {
  for (int attempt = 1;; ++attempt) {
    try {
      return client.call<Sum>("calculator", args);
    } catch (const polaris::Error& error) {
      const bool transient = error.code() == polaris::Errc::connection_lost ||
                             error.code() == polaris::Errc::no_such_tool;
      if (!transient || attempt == 5) throw;
      std::cout << "retrying after: " << error.what() << std::endl;
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage = "usage: clustering-client [COUNT [INTERVAL_MS]]";
  if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::cout << usage
              << "\nCalls calculator(add, 1, 2) COUNT times (default 1), INTERVAL_MS "
                 "apart (default 500), through the three seed nodes.\n";
    return 0;
  }
  int count = 1;
  int interval_ms = 500;
  try {
    if (argc > 1) count = std::stoi(argv[1]);
    if (argc > 2) interval_ms = std::stoi(argv[2]);
  } catch (const std::exception&) {
    count = -1;
  }
  if (argc > 3 || count < 1 || interval_ms < 0) {
    std::cerr << "error: bad arguments; " << usage << '\n';
    return 2;
  }
  try {
    polaris::install_program_logger("clustering-client", polaris::log_settings_from_env());
    auto client = polaris::connect({
        .servers = {"nats://127.0.0.1:4222", "nats://127.0.0.1:4223", "nats://127.0.0.1:4224"},
    });
    for (int i = 0; i < count; ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
      const Sum sum = call_with_retry(client, Calc{Op::add, 1, 2});
      std::cout << "result = " << sum.result;
      if (count > 1) std::cout << "   (via " << client.connected_url() << ")";
      std::cout << std::endl;
    }
  } catch (const polaris::Error& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
}
