// chaos_agent: a polaris agent for the fault-injection tests. Serves one tool whose handler
// works for --work-ms, then appends the call's "seq" argument to --log (one line per handler
// run, written with O_APPEND so that a SIGKILL loses nothing already written) and answers
// {"seq", "agent"}. The tests count the lines: a seq seen twice means a handler ran twice.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <thread>

#include "polaris/polaris.hpp"

int main(int argc, char** argv) {
  CLI::App app{"polaris agent for the fault-injection tests"};
  std::vector<std::string> servers;
  std::string tool = "work";
  std::string log_path;
  std::string ready_file;
  bool replicable = false;
  bool idempotent = false;
  int work_ms = 0;
  app.add_option("--server", servers, "Registry node URL, repeatable")->required();
  app.add_option("--tool", tool, "Tool name")->capture_default_str();
  app.add_option("--log", log_path, "Append each handled seq here")->required();
  app.add_option("--ready-file", ready_file, "Write {\"agent\": id} here once registered");
  app.add_flag("--replicable", replicable, "Declare the tool replicable");
  app.add_flag("--idempotent", idempotent, "Declare the tool idempotent");
  app.add_option("--work-ms", work_ms, "Time each call takes")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    std::cerr << "chaos_agent: cannot open " << log_path << "\n";
    return 1;
  }
  try {
    polaris::ConnectOptions options{.servers = servers};
    options.randomize = false;
    options.reconnect_wait = std::chrono::milliseconds(50);
    auto connection = polaris::connect(options);
    const std::string agent = connection.agent_id();
    connection.register_tool({
        .name = tool,
        .description = "works, then records the call",
        .parameters = polaris::Object{.properties = {{"seq", polaris::Int{.required = true}}}},
        .handler = [&, agent](const polaris::Request& request) -> polaris::Result {
          const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(work_ms);
          while (std::chrono::steady_clock::now() < until && !request.cancelled()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          const std::string line = std::to_string(request.integer("seq")) + "\n";
          if (::write(log_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            return polaris::error("cannot record the call");
          }
          return {{"seq", request.integer("seq")}, {"agent", agent}};
        },
        .concurrency = 16,
        .replicable = replicable,
        .idempotent = idempotent,
    });
    if (!ready_file.empty()) {
      {
        std::ofstream out(ready_file + ".tmp");
        out << polaris::Json{{"agent", agent}}.dump();
      }
      std::rename((ready_file + ".tmp").c_str(), ready_file.c_str());
    }
    polaris::wait_for_shutdown();
    connection.close();
  } catch (const std::exception& error) {
    std::cerr << "chaos_agent: " << error.what() << "\n";
    return 2;
  }
  ::close(log_fd);
  return 0;
}
