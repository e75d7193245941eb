// multi-tool agent: serves calculatorA (a + b) and calculatorB (a * b) until Ctrl-C.
#include <polaris/polaris.hpp>

#include "example_main.hpp"

struct Operands {
  double a;
  double b;
};
POLARIS_DESCRIBE(Operands, (a, "first operand"), (b, "second operand"));

struct Answer {
  double result;
};
POLARIS_DESCRIBE(Answer, (result, ""));

int main(int argc, char** argv) try {
  if (example::handled_help(
          argc, argv,
          "usage: multi-tool-agent   (serves calculatorA and calculatorB on "
          "nats://127.0.0.1:4222 until SIGINT/SIGTERM)"
      ))
    return 0;
  polaris::install_program_logger("multi-tool-agent", polaris::log_settings_from_env());
  auto conn = polaris::connect();  // nats://127.0.0.1:4222, or see ConnectOptions::servers
  conn.register_tool("calculatorA", "adds a and b", [](const Operands& x) {
    return Answer{x.a + x.b};
  });
  conn.register_tool("calculatorB", "multiplies a by b", [](const Operands& x) {
    return Answer{x.a * x.b};
  });
  polaris::wait_for_shutdown();  // closing the connection unregisters both tools
} catch (const std::exception& error) {
  return example::report(error);
}
