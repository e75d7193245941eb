// mcp-tool client: calls an imported MCP tool like any polaris tool.
#include <iostream>

#include <polaris/polaris.hpp>

int main() {
  try {
    auto client = polaris::connect({.servers = {"nats://127.0.0.1:4222"}});
    const auto reply = client.call("mcp_echo", {{"message", "hello from polaris"}});
    std::cout << reply["results"][0].get<std::string>() << '\n';  // Echo: hello from polaris
    const auto sum = client.call("mcp_get-sum", {{"a", 35}, {"b", 21}});
    std::cout << sum["results"][0].get<std::string>() << '\n';
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
}
