// agents-tools: the plain tools the worker agents use (add, multiply, divide), until Ctrl-C.
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
          argc, argv, "usage: agents-tools   (serves add, multiply and divide until SIGINT/SIGTERM)"
      ))
    return 0;
  polaris::install_program_logger("agents-tools", polaris::log_settings_from_env());
  auto conn = polaris::connect();
  conn.register_tool("add", "adds a and b", [](const Operands& x) { return Answer{x.a + x.b}; });
  conn.register_tool("multiply", "multiplies a by b", [](const Operands& x) {
    return Answer{x.a * x.b};
  });
  conn.register_tool("divide", "divides a by b", [](const Operands& x) {
    if (x.b == 0) throw polaris::error("division by zero");
    return Answer{x.a / x.b};
  });
  polaris::wait_for_shutdown();
} catch (const std::exception& error) {
  return example::report(error);
}
