// agent-schema client: one question that needs all three tools.
#include <iostream>
#include <polaris/llm.hpp>
#include <polaris/polaris.hpp>

#include "example_main.hpp"

int main(int argc, char** argv) try {
  if (example::handled_help(
          argc, argv,
          "usage: agent-schema-client   (asks the model to use the agent-schema "
          "tools; see README.md)"
      ))
    return 0;
  polaris::install_program_logger("agent-schema-client", polaris::log_settings_from_env());
  auto conn = polaris::connect();
  polaris::Session session(
      conn,
      {
          .on_function_call =
              [](const polaris::FunctionCallEvent& e) {
                if (e.finished) std::cerr << "[" << e.name << " " << e.duration.count() << " ms]\n";
              },
      }
  );
  for (const auto& text : session.send("My name is Ann. What's the weather in Tokyo, and what "
                                       "is my fortune today?")) {
    std::cout << text << std::flush;
  }
  std::cout << '\n';
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << '\n';
  return 1;
}
