// multi-tool agent: serves calculatorA (a + b) and calculatorB (a * b) until Ctrl-C.
#include <polaris/polaris.hpp>

#include "example_main.hpp"

int main(int argc, char** argv) try {
  if (example::handled_help(argc, argv,
                            "usage: multi-tool-agent   (serves calculatorA and calculatorB on "
                            "nats://127.0.0.1:4222 until SIGINT/SIGTERM)"))
    return 0;
  polaris::install_program_logger("multi-tool-agent", polaris::log_settings_from_env());
  auto conn = polaris::connect();  // nats://127.0.0.1:4222, or see ConnectOptions::servers
  const polaris::Schema operands =
      polaris::Object{.properties = {
                          {"a", polaris::Float{.description = "first operand", .required = true}},
                          {"b", polaris::Float{.description = "second operand", .required = true}},
                      }};
  const polaris::Schema result =
      polaris::Object{.properties = {{"result", polaris::Float{.required = true}}}};

  conn.register_tool({
      .name = "calculatorA",
      .description = "adds a and b",
      .parameters = operands,
      .response = result,
      .handler = [](const polaris::Request& req) -> polaris::Result {
        return {{"result", req.number("a") + req.number("b")}};
      },
  });
  conn.register_tool({
      .name = "calculatorB",
      .description = "multiplies a by b",
      .parameters = operands,
      .response = result,
      .handler = [](const polaris::Request& req) -> polaris::Result {
        return {{"result", req.number("a") * req.number("b")}};
      },
  });
  polaris::wait_for_shutdown();  // closing the connection unregisters both tools
} catch (const std::exception& error) {
  return example::report(error);
}
