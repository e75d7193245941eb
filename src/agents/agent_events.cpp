// agents/agent_events.cpp
#include "agents/agent_events.hpp"

#include "llm/json_fields.hpp"

namespace polaris {

Json AgentEvents::base(const char* event) const {
  return Json{{"agent", agent_}, {"depth", depth_}, {"event", event}};
}

void AgentEvents::text(std::string_view piece) const {
  Json data = base("text");
  data["text"] = piece;
  request_.log("info", data, kLlmAgentLogger);
}

void AgentEvents::function_call(const FunctionCallEvent& event) const {
  Json data = base(event.finished ? "result" : "call");
  data["name"] = event.name;
  if (!event.finished) {
    data["arguments"] = event.arguments;
    request_.progress(++started_, std::nullopt, "calling " + event.name);
  } else {
    data["ok"] = event.ok;
    if (event.ok) {
      data["result"] = event.result;
    } else {
      data["error"] = event.error;
    }
    data["ms"] = event.duration.count();
  }
  request_.log(event.finished && !event.ok ? "warning" : "info", data, kLlmAgentLogger);
}

void AgentEvents::forward(const Json& message) const {
  const Json& log = llm::field(message, "log");
  if (!log.is_object()) return;
  const std::string level = llm::string_field(log, "level");
  request_.log(level.empty() ? "info" : level, llm::field(log, "data"),
               llm::string_field(log, "logger"));
}

}  // namespace polaris
