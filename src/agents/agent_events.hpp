// agents/agent_events.hpp - what an LLM agent tells its caller while it works: log messages in
// the format of docs/PROTOCOL.md ("LLM agents"), sent only when the caller asked for progress.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "polaris/json.hpp"
#include "polaris/llm.hpp"
#include "polaris/tool.hpp"

namespace polaris {

/// The `logger` of every LLM agent event.
inline constexpr const char* kLlmAgentLogger = "polaris.llm_agent";

/// Thread safety: every method may be called from several threads at once (function calls run
/// in parallel).
class AgentEvents {
 public:
  /// `depth`: how many LLM agents the call has passed through, this one included (1: called
  /// directly by a program).
  AgentEvents(const Request& request, std::string agent, int depth)
      : request_(request), agent_(std::move(agent)), depth_(depth) {}

  /// A piece of the answer's text.
  void text(std::string_view piece) const;
  /// A function call starting or ending; a start also counts as progress (calls started).
  void function_call(const FunctionCallEvent& event) const;
  /// A message from a tool this agent called: log messages (a nested agent's events among them)
  /// go on to our caller unchanged; progress numbers stay behind (they count another call's
  /// work, and MCP wants one increasing count per request).
  void forward(const Json& message) const;

 private:
  [[nodiscard]] Json base(const char* event) const;

  const Request& request_;
  std::string agent_;
  int depth_;
  mutable std::atomic<int> started_{0};
};

}  // namespace polaris
