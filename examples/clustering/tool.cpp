// clustering-tool: the calculator, connected to all three registry nodes.
#include <polaris/polaris.hpp>

#include "calculator.hpp"
#include "example_main.hpp"

Sum calculate(const Calc& c) {
  if (c.operation == Op::add) return {c.a + c.b};
  if (c.operation == Op::subtract) return {c.a - c.b};
  if (c.operation == Op::multiply) return {c.a * c.b};
  if (c.b == 0) throw polaris::error("divide by zero");
  return {c.a / c.b};
}

int main(int argc, char** argv) try {
  if (example::handled_help(
          argc, argv,
          "usage: clustering-tool   (serves the calculator through the three "
          "seed nodes until SIGINT/SIGTERM)"
      ))
    return 0;
  polaris::install_program_logger("clustering-tool", polaris::log_settings_from_env());
  auto conn = polaris::connect({
      .servers = {"nats://127.0.0.1:4222", "nats://127.0.0.1:4223", "nats://127.0.0.1:4224"},
  });
  conn.register_tool("calculator", "simple calculator", calculate);
  std::cout << "calculator registered via " << conn.connected_url() << std::endl;
  polaris::wait_for_shutdown();  // SIGINT / SIGTERM; closing the connection unregisters
} catch (const std::exception& error) {
  return example::report(error);
}
