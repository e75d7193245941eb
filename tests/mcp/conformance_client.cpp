// A small MCP client built on polaris::mcp::Client for the conformance suite's client scenarios:
// `conformance client --command "<this program>" --scenario S` appends the server URL.
// It initializes, lists the tools and calls each (add_numbers with a=5, b=3), then closes.
#include <iostream>

#include "polaris/error.hpp"
#include "polaris/mcp.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: mcp-conformance-client URL\n";
    return 2;
  }
  try {
    polaris::mcp::Client client({.server = {.url = argv[argc - 1]}});
    for (const auto& tool : client.list_tools()) {
      const std::string name = tool["name"].get<std::string>();
      const polaris::Json arguments =
          name == "add_numbers" ? polaris::Json{{"a", 5}, {"b", 3}} : polaris::Json::object();
      const auto result = client.call_tool(name, arguments, std::chrono::seconds(10));
      std::cout << name << ": " << result.dump() << '\n';
    }
    client.close();
    return 0;
  } catch (const polaris::Error& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
}
