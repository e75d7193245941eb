// error-tool agent: a tool whose handler always fails, with an error handler that logs.
#include <spdlog/spdlog.h>

#include <polaris/polaris.hpp>

#include "example_main.hpp"

int main(int argc, char** argv) try {
  if (example::handled_help(
          argc, argv,
          "usage: error-tool-agent   (serves a tool that always fails, with an "
          "error handler that logs)"
      ))
    return 0;
  polaris::install_program_logger("error-tool-agent", polaris::log_settings_from_env());
  auto conn = polaris::connect();
  conn.register_tool({
      .name = "unstableService",
      .description = "looks up the status of a service (currently broken)",
      .parameters =
          polaris::Object{
              .properties =
                  {
                      {"service", polaris::String{.description = "service name", .required = true}},
                  }},
      .response = polaris::Object{.properties = {{"status", polaris::String{}}}},
      .handler = [](const polaris::Request& req) -> polaris::Result {
        return polaris::error("backend for " + req.string("service") + " is unreachable");
      },
      // Runs after every failed call; the caller (here, the model) gets the `_error` reply.
      .on_error = [](const std::string& tool,
                     const std::string& message) { spdlog::error("{} failed: {}", tool, message); },
  });
  polaris::wait_for_shutdown();
} catch (const std::exception& error) {
  return example::report(error);
}
