// error-tool client: the tool's failure goes back to the model, which explains it.
#include <iostream>
#include <polaris/llm.hpp>
#include <polaris/polaris.hpp>

#include "example_main.hpp"

int main(int argc, char** argv) try {
  if (example::handled_help(
          argc, argv,
          "usage: error-tool-client   (calls the failing tool directly and "
          "through a model; see README.md)"
      ))
    return 0;
  polaris::install_program_logger("error-tool-client", polaris::log_settings_from_env());
  auto conn = polaris::connect();
  polaris::Session session(
      conn,
      {
          .on_function_call =
              [](const polaris::FunctionCallEvent& e) {
                if (e.finished && !e.ok)
                  std::cerr << "[" << e.name << " failed: " << e.error << "]\n";
              },
      }
  );
  std::cout << session.ask("What is the status of the billing service? Use unstableService.")
            << '\n';
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << '\n';
  return 1;
}
