// remote-log agent: serves tailLog, the last N lines of a log file under one folder.
//   remote-log-agent [LOG_FOLDER]   (default: ./logs)
#include <iostream>
#include <polaris/polaris.hpp>

#include "example_main.hpp"

#include "tail.hpp"

int main(int argc, char** argv) try {
  if (example::handled_help(
          argc, argv,
          "usage: remote-log-agent [ROOT]   (serves the last lines of files "
          "under ROOT; see README.md)"
      ))
    return 0;
  polaris::install_program_logger("remote-log-agent", polaris::log_settings_from_env());
  const std::filesystem::path root = argc > 1 ? argv[1] : "logs";
  auto conn = polaris::connect();
  conn.register_tool({
      .name = "tailLog",
      .description = "returns the last lines of a log file",
      .parameters =
          polaris::Object{
              .properties =
                  {
                      {"file",
                       polaris::String{
                           .description = "file name inside the log folder, e.g. app.log",
                           .required = true}},
                      {"lines",
                       polaris::Int{
                           .description = "how many lines (at most 1000)", .default_value = 20}},
                  }},
      .response =
          polaris::Object{
              .properties =
                  {
                      {"lines",
                       polaris::StringArray{
                           .item_description = "a line, oldest first", .required = true}},
                      {"truncated", polaris::Bool{.description = "older lines were not read"}},
                  }},
      .handler = [root](const polaris::Request& req) -> polaris::Result {
        const auto wanted = req.integer("lines");
        if (wanted < 1) return polaris::error("lines must be at least 1");
        try {
          const auto tail =
              remote_log::tail_lines(root, req.string("file"), static_cast<std::size_t>(wanted));
          return {{"lines", tail.lines}, {"truncated", tail.truncated}};
        } catch (const std::runtime_error& e) {
          return polaris::error(e.what());
        }
      },
  });
  std::cerr << "serving tailLog for " << root << '\n';
  polaris::wait_for_shutdown();
} catch (const std::exception& error) {
  return example::report(error);
}
