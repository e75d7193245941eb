// clustering-tool: the calculator, connected to all three registry nodes.
#include <polaris/polaris.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc > 1) {
    const bool help = std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h";
    (help ? std::cout : std::cerr)
        << (help ? "" : "error: no arguments expected; ")
        << "usage: clustering-tool   (serves the calculator through the three seed nodes until "
           "SIGINT/SIGTERM)\n";
    return help ? 0 : 2;
  }
  try {
    polaris::install_program_logger("clustering-tool", polaris::log_settings_from_env());
    auto conn = polaris::connect({
        .servers = {"nats://127.0.0.1:4222", "nats://127.0.0.1:4223", "nats://127.0.0.1:4224"},
    });
    conn
        .register_tool(
            {
                .name = "calculator",
                .description = "simple calculator",
                .parameters =
                    polaris::
                        Object{.description = "calc params",
                               .properties =
                                   {
                                       {"operation",
                                        polaris::StringEnum{
                                            .description = "operation to perform",
                                            .values = {"add", "subtract", "multiply", "divide"},
                                            .required = true}},
                                       {"a",
                                        polaris::
                                            Float{.description = "first operand", .required = true}},
                                       {"b", polaris::Float{.description = "second operand",
                                                            .required = true}},
                                   }},
                .response =
                    polaris::Object{
                        .description = "result of calculation",
                        .properties = {{"result", polaris::Float{.description = "result",
                                                                 .required = true}}}},
                .handler = [](const polaris::Request& req) -> polaris::Result {
                  const double a = req.number("a");
                  const double b = req.number("b");
                  const std::string op = req.string("operation");
                  if (op == "add") return {{"result", a + b}};
                  if (op == "subtract") return {{"result", a - b}};
                  if (op == "multiply") return {{"result", a * b}};
                  if (op == "divide") {
                    if (b == 0) return polaris::error("divide by zero");
                    return {{"result", a / b}};
                  }
                  return polaris::error("unknown operation: " + op);
                },
            });
    std::cout << "calculator registered via " << conn.connected_url() << std::endl;
    polaris::wait_for_shutdown();  // SIGINT / SIGTERM; closing the connection unregisters
  } catch (const polaris::Error& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
}
