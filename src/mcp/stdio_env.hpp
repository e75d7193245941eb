// mcp/stdio_env.hpp - the environment a stdio MCP server is started with.
//
// Internal. An MCP server is someone else's program: it must not inherit what the agent that
// starts it holds (POLARIS_PASSWORD, POLARIS_TOKEN, cloud and LLM keys). It gets a fixed
// allow-list of our variables, enough for a shell-like environment and for npx/uvx to fetch and
// run a package, and what ServerAddress::env names (docs/SECURITY.md, "MCP").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace polaris::mcp::detail {

/// True when our variable `name` is passed on to every stdio MCP server.
[[nodiscard]] bool inherited_by_stdio_servers(std::string_view name) noexcept;

/// The environment ("NAME=value" entries, each name once) of a stdio MCP server: our allow-listed
/// variables, then `env` in order, where "NAME=value" sets NAME and a bare "NAME" passes our NAME
/// on (nothing when we have none). A later entry replaces an earlier one of the same name.
/// @throws Error(Errc::invalid_argument) for an entry with an empty name.
[[nodiscard]] std::vector<std::string> stdio_server_environment(
    const std::vector<std::string>& env);

}  // namespace polaris::mcp::detail
