// `polaris chat "prompt"`: an LLM session over the cluster's tools. The answer streams to stdout,
// function calls go to stderr; with no prompt, a prompt loop on stdin.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include "cli/common.hpp"
#include "polaris/error.hpp"
#include "polaris/llm.hpp"

namespace polaris::cli {
namespace {

struct ChatFlags {
  std::vector<std::string> servers;
  std::string provider;
  std::string model;
  std::string system;
  std::string prompt;
  bool json = false;
  std::string schema_file;
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  int max_turns = 10;
  std::vector<std::string> tools;
  bool thoughts = false;
  bool no_stream = false;
};

Schema read_schema(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(Errc::invalid_argument, "cannot read schema file " + path);
  std::stringstream text;
  text << in.rdbuf();
  const Json json = Json::parse(text.str(), nullptr, false);
  if (json.is_discarded()) throw Error(Errc::invalid_argument, path + " is not JSON");
  return Schema::from_json(json);
}

// A running call's progress or log message, indented under the call (docs/PROTOCOL.md, "LLM
// agents"): an LLM agent's events by their depth, the agent's name first (calls of parallel
// agents interleave); the text pieces of nested answers are left out (each answer comes with
// its agent's result). Other tools' log messages one level in, named by the tool.
std::string call_message_line(const std::string& tool, const Json& message) {
  const Json* log =
      message.contains("log") && message["log"].is_object() ? &message["log"] : nullptr;
  if (log != nullptr && log->value("logger", "") == "polaris.llm_agent" && log->contains("data") &&
      (*log)["data"].is_object()) {
    const Json& e = (*log)["data"];
    const int depth = e.value("depth", 1);
    const std::string indent(static_cast<std::size_t>(std::clamp(depth, 1, 16)) * 3, ' ');
    const std::string who = indent + "[" + e.value("agent", tool) + "] ";
    const std::string event = e.value("event", "");
    const std::string name = e.value("name", "");
    if (event == "call") return who + "-> " + name + ' ' + e.value("arguments", Json()).dump();
    if (event != "result") return {};
    const std::string ms = " (" + e.value("ms", Json(0)).dump() + " ms)";
    if (e.value("ok", false))
      return who + "<- " + name + ' ' + e.value("result", Json()).dump() + ms;
    return who + "<- " + name + " failed: " + e.value("error", "") + ms;
  }
  if (log != nullptr) {
    return "   [" + tool + "] log " + log->value("level", "info") + ' ' +
           log->value("data", Json()).dump();
  }
  // Progress counts (an LLM agent's "calling X" among them) say less than the events above.
  return {};
}

SessionOptions session_options(const ChatFlags& flags) {
  SessionOptions o;
  if (!flags.provider.empty()) o.provider = provider_flag(flags.provider);
  o.model = flags.model;
  o.system = flags.system;
  o.temperature = flags.temperature;
  o.max_output_tokens = flags.max_tokens;
  o.max_turns = flags.max_turns;
  o.allowed_tools = flags.tools;
  o.show_thoughts = flags.thoughts;
  o.stream = !flags.no_stream;
  o.json_output = flags.json;
  if (!flags.schema_file.empty()) o.response_schema = read_schema(flags.schema_file);
  // Calls are reported on stderr as they start and end; several may print at once.
  auto mutex = std::make_shared<std::mutex>();
  o.on_function_call = [mutex](const FunctionCallEvent& e) {
    std::lock_guard lock(*mutex);
    if (!e.finished) {
      std::cerr << "-> " << e.name << ' ' << e.arguments.dump() << '\n';
    } else if (e.ok) {
      std::cerr << "<- " << e.name << ' ' << e.result.dump() << " (" << e.duration.count()
                << " ms)\n";
    } else {
      std::cerr << "<- " << e.name << " failed: " << e.error << " (" << e.duration.count()
                << " ms)\n";
    }
  };
  o.on_call_message = [mutex](const std::string& tool, const Json& message) {
    const std::string line = call_message_line(tool, message);
    if (line.empty()) return;
    std::lock_guard lock(*mutex);
    std::cerr << line << '\n';
  };
  return o;
}

// One prompt: streamed text, or (with --json) the parsed JSON answer.
void answer(Session& session, const ChatFlags& flags, const Json& schema,
            const std::string& prompt) {
  if (!flags.json) {
    session.send_text(prompt, [](std::string_view text) {
      std::cout << text << std::flush;
      return true;
    });
    std::cout << '\n';
    return;
  }
  std::string text = session.ask(prompt);
  const Json value = Json::parse(text, nullptr, false);
  if (value.is_discarded()) throw Error(Errc::protocol, "the answer is not JSON: " + text);
  if (!schema.is_null()) {
    if (auto problem = check_against_schema(value, schema)) {
      throw Error(Errc::protocol, "the answer does not match the schema: " + *problem);
    }
  }
  std::cout << value.dump(2) << '\n';
}

// A --tool the cluster does not serve would be dropped silently and the model offered less than
// asked for: refuse it, naming what there is.
void check_tools_exist(Connection& connection, const std::vector<std::string>& wanted) {
  if (wanted.empty()) return;
  std::set<std::string> names;
  for (const auto& tool : connection.list_tools()) names.insert(tool.name);
  for (const auto& name : wanted) {
    if (names.contains(name)) continue;
    std::string there;
    for (const auto& one : names) there += (there.empty() ? "" : ", ") + one;
    throw Error(Errc::no_such_tool, "no such tool: " + name + " (the cluster serves: " +
                                        (there.empty() ? "no tools" : there) + ")");
  }
}

void run_chat(const ChatFlags& flags, int& exit_code) {
  SessionOptions options = session_options(flags);
  const Json schema = options.response_schema.empty() ? Json() : options.response_schema.to_json();
  // JSON output takes no tools, so it needs no cluster.
  std::optional<Connection> connection;
  if (!flags.json) {
    connection = connect_client(flags.servers, exit_code);  // exit 3, as every client command
    if (!connection) return;
    check_tools_exist(*connection, flags.tools);
  }
  Session session =
      connection ? Session(*connection, std::move(options)) : Session(std::move(options));
  if (!flags.prompt.empty()) {
    answer(session, flags, schema, flags.prompt);
    return;
  }
  const bool interactive = ::isatty(STDIN_FILENO) != 0;
  std::string line;
  while (true) {
    if (interactive) std::cerr << "> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    try {
      answer(session, flags, schema, line);
    } catch (const std::exception& error) {
      // In the prompt loop one failed answer does not end the conversation.
      print_error(error.what());
      exit_code = kFailure;
    }
  }
}

}  // namespace

void add_chat_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ChatFlags>();
  CLI::App* command =
      app.add_subcommand("chat",
                         "Ask a model that can call the cluster's tools (prompt loop "
                         "when no prompt is given)");
  add_server_option(*command, flags->servers);
  command->add_option("prompt", flags->prompt, "The prompt; none: read prompts from stdin");
  command->add_option("--provider", flags->provider,
                      "gemini, vertex, openai or anthropic (default: from the environment)");
  command->add_option("--model", flags->model, "Model name (default: the provider's)");
  command->add_option("--system", flags->system, "System instructions");
  command->add_flag("--json", flags->json, "Answer in JSON (no tools)");
  command->add_option("--schema", flags->schema_file, "JSON output schema file (wire schema)")
      ->needs(command->get_option("--json"));
  command->add_option("--temperature", flags->temperature, "Sampling temperature");
  command->add_option("--max-tokens", flags->max_tokens, "Maximum output tokens");
  command->add_option("--max-turns", flags->max_turns, "Model turns per prompt (default 10)");
  command->add_option("--tool", flags->tools, "Offer only this tool (repeatable)")
      ->allow_extra_args(false);  // `--tool NAME "prompt"`: the prompt is no second tool
  command->add_flag("--thoughts", flags->thoughts, "Show the model's thoughts");
  command->add_flag("--no-stream", flags->no_stream, "One request per turn instead of streaming");
  command->callback([flags, &exit_code] {
    try {
      run_chat(*flags, exit_code);
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = kFailure;
    }
  });
}

}  // namespace polaris::cli
