// mcp-tool agent: imports the tools of an MCP server into the cluster.
//
//   mcp-tool-agent stdio npx -y @modelcontextprotocol/server-everything stdio
//   mcp-tool-agent http  http://127.0.0.1:3001/mcp
//   mcp-tool-agent sse   http://127.0.0.1:3001/sse
#include <iostream>
#include <string>
#include <vector>

#include <polaris/mcp.hpp>
#include <polaris/polaris.hpp>

int main(int argc, char** argv) {
  if (argc < 3 || std::string(argv[1]) == "--help") {
    std::cerr << "usage: mcp-tool-agent (stdio COMMAND ARGS... | http URL | sse URL)\n";
    return argc >= 2 && std::string(argv[1]) == "--help" ? 0 : 2;
  }
  const std::string mode = argv[1];
  polaris::mcp::ImportOptions options{.prefix = "mcp"};
  if (mode == "stdio") {
    options.client.server.command.assign(argv + 2, argv + argc);
  } else {
    options.client.server.url = argv[2];
    options.client.server.sse = mode == "sse";
  }
  try {
    polaris::install_program_logger("mcp-tool-agent", polaris::log_settings_from_env());
    auto conn = polaris::connect();
    polaris::mcp::Import imported(conn, options);
    for (const auto& name : imported.tools()) std::cout << "imported " << name << '\n';
    polaris::wait_for_shutdown();  // closing unregisters the tools and stops the MCP server
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
}
