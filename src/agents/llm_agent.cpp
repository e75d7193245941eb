// agents/llm_agent.cpp - an LLM agent served as a tool: each call runs a fresh session whose tool
// calls are made on behalf of that call, and reports its work to the caller as it goes.
#include "polaris/llm_agent.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <utility>

#include "agents/agent_events.hpp"
#include "llm/session_impl.hpp"
#include "llm/tool_backend.hpp"

namespace polaris {
namespace {

std::string join_chain(const std::vector<std::string>& chain, const std::string& last) {
  std::string text;
  for (const auto& name : chain) text += name + " -> ";
  return text + last;
}

// The tools a task may use: the live catalogue filtered by the agent's patterns (never the agent
// itself), called on behalf of the task's call with the agent appended to the chain.
class AgentTools final : public llm::ToolBackend {
 public:
  AgentTools(Connection& conn, const Request& request, const LlmAgentOptions& agent,
             const AgentEvents& events)
      : conn_(agent.caller != nullptr ? *agent.caller : conn),
        request_(request),
        agent_(agent),
        events_(events) {}

  std::vector<ToolDeclaration> list() override {
    std::vector<ToolDeclaration> tools;
    for (auto& tool : conn_.list_tools()) {
      if (tool.name == agent_.name) continue;
      const bool allowed = std::any_of(
          agent_.tools.begin(), agent_.tools.end(),
          [&](const std::string& pattern) { return matches_tool_pattern(pattern, tool.name); });
      if (allowed) tools.push_back(std::move(tool));
    }
    return tools;
  }

  // Every matching tool may be used, this connection's own included (but never the agent).
  std::vector<std::string> local() override { return {}; }

  // The tools' messages go to the agent's caller (`on_message` is the session's, unset here).
  Json call(const std::string& name, const Json& arguments,
            std::optional<std::chrono::milliseconds> timeout,
            const std::function<void(const Json&)>& /*on_message*/) override {
    if (name == agent_.name) throw Error(Errc::invalid_argument, "an LLM agent never calls itself");
    // The model may name any tool, not only those it was offered.
    if (!std::any_of(agent_.tools.begin(), agent_.tools.end(), [&](const std::string& pattern) {
          return matches_tool_pattern(pattern, name);
        })) {
      std::string allowed;
      for (const auto& pattern : agent_.tools) allowed += (allowed.empty() ? "" : ", ") + pattern;
      throw Error(Errc::invalid_argument,
                  agent_.name + " may not use the tool " + name +
                      " (its tools: " + (allowed.empty() ? "none" : allowed) + ")");
    }
    CallOptions options = on_behalf_of(request_, CallOptions{.timeout = timeout});
    options.chain.push_back(agent_.name);
    options.on_progress = [this](const Json& message) { events_.forward(message); };
    return conn_.call(name, arguments, options);
  }

 private:
  Connection& conn_;
  const Request& request_;
  const LlmAgentOptions& agent_;
  const AgentEvents& events_;
};

// The calls of one task, in the order the model asked for them (a session announces the calls
// of one turn in that order before running them in parallel). A finished call is matched to the
// first unfinished one of the same name and arguments: identical calls are interchangeable.
class CallRecord {
 public:
  void on_event(const FunctionCallEvent& event) {
    std::lock_guard lock(mutex_);
    if (!event.finished) {
      calls_.push_back({{"name", event.name}, {"arguments", event.arguments}});
      return;
    }
    for (auto& call : calls_) {
      if (call.contains("ms") || call["name"] != event.name ||
          call["arguments"] != event.arguments) {
        continue;
      }
      if (event.ok) {
        call["result"] = event.result;
      } else {
        call["error"] = event.error;
      }
      call["ms"] = event.duration.count();
      return;
    }
  }

  Json take() {
    std::lock_guard lock(mutex_);
    return std::exchange(calls_, Json::array());
  }

 private:
  std::mutex mutex_;
  Json calls_ = Json::array();
};

Result run_task(Connection& conn, const LlmAgentOptions& agent, const Request& request) {
  const std::vector<std::string>& chain = request.chain();
  if (std::find(chain.begin(), chain.end(), agent.name) != chain.end()) {
    return error(agent.name + ": call cycle: " + join_chain(chain, agent.name) + " (" + agent.name +
                 " is already in the chain)");
  }
  if (static_cast<int>(chain.size()) + 1 > agent.max_depth) {
    return error(agent.name +
                 ": the chain of LLM agents is too deep: " + join_chain(chain, agent.name) +
                 " (limit " + std::to_string(agent.max_depth) + ")");
  }
  const std::string task = request.string("task");
  if (task.empty()) return error(agent.name + ": the task is empty");
  std::string prompt = task;
  if (const std::string context = request.string("context"); !context.empty()) {
    prompt += "\n\nContext:\n" + context;
  }

  const AgentEvents events(request, agent.name, static_cast<int>(chain.size()) + 1);
  SessionOptions options = agent.session;
  // The model's requests end with the caller's deadline, as the tool calls do.
  if (const auto left = request.remaining()) {
    if (left->count() <= 0) return error(agent.name + ": the caller's deadline has passed");
    if (options.request_timeout.count() == 0 || *left < options.request_timeout) {
      options.request_timeout = *left;
    }
  }
  CallRecord record;
  options.on_function_call = [&](const FunctionCallEvent& event) {
    record.on_event(event);
    events.function_call(event);
  };
  std::string answer;
  bool stopped = false;
  try {
    Session session = make_session(std::move(options),
                                   std::make_unique<AgentTools>(conn, request, agent, events));
    session.send_text(prompt, [&](std::string_view text) {
      if (request.cancelled()) {
        stopped = true;
        return false;
      }
      answer += text;
      events.text(text);
      return true;
    });
    if (stopped || request.cancelled()) {
      return error(agent.name + ": stopped: the caller's deadline passed");
    }
    const Usage usage = session.usage();
    return Json{
        {"answer", answer},
        {"tool_calls", record.take()},
        {"usage", {{"input_tokens", usage.input_tokens}, {"output_tokens", usage.output_tokens}}}};
  } catch (const std::exception& e) {
    return error(agent.name + ": " + e.what());
  }
}

}  // namespace

bool matches_tool_pattern(std::string_view pattern, std::string_view name) noexcept {
  // Iterative glob with one backtrack point: linear enough for names of 64 characters.
  std::size_t p = 0;
  std::size_t n = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

void serve_llm_agent(Connection& conn, LlmAgentOptions options) {
  if (!is_valid_tool_name(options.name)) {
    throw Error(Errc::invalid_argument, "invalid LLM agent name: " + options.name);
  }
  if (options.max_depth < 1) throw Error(Errc::invalid_argument, "max_depth must be at least 1");
  for (const auto& pattern : options.tools) {
    if (pattern == options.name) {
      throw Error(Errc::invalid_argument, "LLM agent " + options.name + " cannot use itself");
    }
  }
  options.session.system = options.system;
  options.session.provider = options.provider;
  if (!options.model.empty()) options.session.model = options.model;
  options.session.max_turns = options.max_turns;
  if (options.temperature) options.session.temperature = options.temperature;
  options.session.json_output = false;
  // Missing credentials or a bad option fail now, not at the first task.
  (void)llm::resolve(options.session);

  auto agent = std::make_shared<const LlmAgentOptions>(std::move(options));
  Connection* connection = &conn;
  conn.register_tool(Tool{
      .name = agent->name,
      .description = agent->description,
      .parameters =
          Object{.properties = {{"task", String{.description = "What to do", .required = true}},
                                {"context", String{.description = "What the agent "
                                                                  "should know"}}}},
      .response = Object{.properties = {{"answer", String{.required = true}}}},
      .handler = [connection, agent](const Request& request) -> Result {
        return run_task(*connection, *agent, request);
      },
      .on_error = {},
      .concurrency = agent->concurrency,
      .replicable = agent->replicable,
      .idempotent = false,
      .timeout = agent->timeout,
      .declaration_extra = Json::object(),
  });
}

}  // namespace polaris
