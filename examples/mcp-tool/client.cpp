// mcp-tool client: calls an imported MCP tool like any polaris tool.
#include <iostream>

#include <polaris/polaris.hpp>

#include "example_main.hpp"

int main(int argc, char** argv) {
  if (example::handled_help(
          argc, argv, "usage: mcp-tool-client   (calls the tools mcp-tool-agent imported)"
      ))
    return 0;
  polaris::install_program_logger("mcp-tool-client", polaris::log_settings_from_env());
  try {
    auto client = polaris::connect();
    const auto reply = client.call("mcp_echo", {{"message", "hello from polaris"}});
    std::cout << reply["results"][0].get<std::string>() << '\n';  // Echo: hello from polaris
    const auto sum = client.call("mcp_get-sum", {{"a", 35}, {"b", 21}});
    std::cout << sum["results"][0].get<std::string>() << '\n';
  } catch (const std::exception& error) {
    return example::report(error);
  }
}
