// polaris/llm_agent.hpp - an LLM agent: a model, a system prompt and the tools it may use, served
// as one tool of the cluster.
//
//   auto conn = polaris::connect();
//   polaris::serve_llm_agent(conn, {.name = "researcher",
//                                   .description = "Finds facts with the search tools.",
//                                   .system = "Answer with sources.",
//                                   .tools = {"search_*", "calculator"}});
//
// Any caller (a program, `polaris call`, another LLM agent, an MCP client through `polaris mcp
// serve`) hands it a task: `{"task": "...", "context": "..."}`. Each call runs a fresh session
// whose tool calls are made on behalf of that call (its remaining deadline, its chain of LLM
// agents); the reply is `{"answer", "tool_calls": [{"name", "arguments", "result" | "error",
// "ms"}], "usage": {"input_tokens", "output_tokens"}}`. While it works the agent sends log
// messages to a caller that asked for progress (docs/PROTOCOL.md, "LLM agents").
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/connection.hpp"
#include "polaris/llm.hpp"

namespace polaris {

/// What an LLM agent is. `session` carries everything else of the model's sessions (keys,
/// endpoint, thinking, retries, ...); the fields here override it.
struct LlmAgentOptions {
  std::string name{};         ///< the tool's name (a valid tool name)
  std::string description{};  ///< what callers (and their models) read in the catalogue
  std::string system{};       ///< the system prompt of every session
  Provider provider = Provider::automatic;
  std::string model{};  ///< empty: the provider's default
  /// Tools the model may use: exact names or glob patterns (`*`, `?`), read from the live
  /// catalogue at every turn. Empty: none. The agent's own name never matches.
  std::vector<std::string> tools{};
  int max_turns = 10;
  std::optional<double> temperature{};
  /// The declared timeout: what callers that set none wait for an answer.
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  /// Several processes may serve this agent (see Tool::replicable). Never idempotent: a model
  /// session is not repeatable, so a call whose agent died ends in Errc::outcome_unknown.
  bool replicable = false;
  /// The most LLM agents a chain of calls may hold, this one included.
  int max_depth = 4;
  /// How many tasks may run at once on this process (Tool::concurrency).
  std::size_t concurrency = 8;
  /// The connection that lists and calls the tools the model uses; null: the serving one. Under
  /// roles the serving connection's agent user then needs those tools in its `calls` list
  /// (docs/SECURITY.md, "LLM agents"); or give a connection of a caller user whose list holds
  /// them. Must outlive the agent.
  Connection* caller = nullptr;
  SessionOptions session{};
};

/// Registers the LLM agent `options.name` on `conn` and serves it until the connection closes.
/// The provider's credentials are checked now: a missing key fails here, not at the first call.
/// @throws Error(Errc::invalid_argument) for bad options or missing credentials; what
///         Connection::register_tool throws.
void serve_llm_agent(Connection& conn, LlmAgentOptions options);

/// Whether `name` matches the glob `pattern` (`*` any run of characters, `?` one character).
[[nodiscard]] bool matches_tool_pattern(std::string_view pattern, std::string_view name) noexcept;

}  // namespace polaris
