// remote-log client: the model reads a log through tailLog and summarises it.
#include <iostream>
#include <polaris/llm.hpp>
#include <polaris/polaris.hpp>

#include "example_main.hpp"

int main(int argc, char** argv) try {
  if (example::handled_help(
          argc, argv, "usage: remote-log-client [FILE [LINES]]   (see README.md)"
      ))
    return 0;
  polaris::install_program_logger("remote-log-client", polaris::log_settings_from_env());
  const std::string file = argc > 1 ? argv[1] : "app.log";
  auto conn = polaris::connect();
  polaris::Session session(conn, {.system = "You are an operations assistant. Be concise."});
  for (const auto& text : session.send(
           "Read the last 50 lines of " + file + " and summarise any errors or warnings."
       )) {
    std::cout << text << std::flush;
  }
  std::cout << '\n';
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << '\n';
  return 1;
}
