// multi-tool client: the model chains calculatorA and calculatorB (35 + 21 = 56, 56 * 88 = 4928).
#include <iostream>
#include <polaris/llm.hpp>
#include <polaris/polaris.hpp>

#include "example_main.hpp"

int main(int argc, char** argv) try {
  if (example::handled_help(
          argc, argv,
          "usage: multi-tool-client   (asks the model to chain calculatorA and "
          "calculatorB; see README.md)"
      ))
    return 0;
  polaris::install_program_logger("multi-tool-client", polaris::log_settings_from_env());
  auto conn = polaris::connect();
  polaris::Session session(
      conn,
      {
          .system = "Use the tools for every calculation. Answer briefly.",
          .on_function_call =
              [](const polaris::FunctionCallEvent& e) {
                if (e.finished)
                  std::cerr << "[" << e.name << " " << e.arguments.dump() << " -> "
                            << (e.ok ? e.result.dump() : e.error) << "]\n";
              },
      }
  );
  for (const auto& text : session.send("Use 35 and 21 for calculatorA, then the result and 88 "
                                       "for calculatorB.")) {
    std::cout << text << std::flush;
  }
  std::cout << '\n';
  const auto usage = session.usage();
  std::cerr << "tokens: " << usage.input_tokens << " in, " << usage.output_tokens << " out\n";
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << '\n';
  return 1;
}
