// `polaris agent serve`: an LLM agent (a model, a system prompt, the tools it may use) served as
// one tool of the cluster until SIGINT or SIGTERM. Flags mirror `polaris chat`.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/common.hpp"
#include "polaris/error.hpp"
#include "polaris/llm_agent.hpp"
#include "polaris/shutdown.hpp"

namespace polaris::cli {
namespace {

struct AgentFlags {
  std::vector<std::string> servers;
  std::string name;
  std::string description;
  std::string system;
  std::vector<std::string> tools;
  std::string provider;
  std::string model;
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  int max_turns = 10;
  int max_depth = 4;
  std::string timeout;
  bool replicable = false;
  bool no_stream = false;
};

// "@path" reads the file (a long system prompt); anything else is the text itself.
std::string text_or_file(const std::string& value) {
  if (value.rfind('@', 0) != 0) return value;
  std::ifstream in(value.substr(1));
  if (!in) throw Error(Errc::invalid_argument, "cannot read " + value.substr(1));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

LlmAgentOptions agent_options(const AgentFlags& flags) {
  LlmAgentOptions o;
  o.name = flags.name;
  o.description = text_or_file(flags.description);
  o.system = text_or_file(flags.system);
  o.tools = flags.tools;
  if (!flags.provider.empty()) o.provider = provider_flag(flags.provider);
  o.model = flags.model;
  o.temperature = flags.temperature;
  o.max_turns = flags.max_turns;
  o.max_depth = flags.max_depth;
  o.replicable = flags.replicable;
  if (!flags.timeout.empty()) o.timeout = parse_duration(flags.timeout);
  o.session.max_output_tokens = flags.max_tokens;
  o.session.stream = !flags.no_stream;
  return o;
}

}  // namespace

void add_agent_command(CLI::App& app, int& exit_code) {
  CLI::App* agent = app.add_subcommand("agent", "LLM agents: a model served as a tool");
  agent->require_subcommand(1);
  auto flags = std::make_shared<AgentFlags>();
  CLI::App* serve = agent->add_subcommand(
      "serve", "Serve an LLM agent as a tool of the cluster until SIGINT or SIGTERM");
  add_server_option(*serve, flags->servers);
  serve->add_option("--name", flags->name, "The agent's tool name")->required();
  serve->add_option("--description", flags->description,
                    "What callers read in the catalogue (TEXT or @FILE)");
  serve->add_option("--system", flags->system, "System prompt (TEXT or @FILE)");
  serve
      ->add_option("--tool", flags->tools,
                   "A tool the model may use: a name or a pattern such as 'search_*' "
                   "(repeatable; none: no tools)")
      ->allow_extra_args(false);
  serve->add_option("--provider", flags->provider,
                    "gemini, vertex, openai or anthropic (default: from the environment)");
  serve->add_option("--model", flags->model, "Model name (default: the provider's)");
  serve->add_option("--temperature", flags->temperature, "Sampling temperature");
  serve->add_option("--max-tokens", flags->max_tokens, "Maximum output tokens");
  serve->add_option("--max-turns", flags->max_turns, "Model turns per task (default 10)");
  serve->add_option("--max-depth", flags->max_depth,
                    "Most LLM agents in a chain of calls, this one included (default 4)");
  serve->add_option("--timeout", flags->timeout,
                    "Declared timeout: what callers that set none wait (default 2m)");
  serve->add_flag("--replicable", flags->replicable,
                  "Let several processes serve this agent (calls are shared)");
  serve->add_flag("--no-stream", flags->no_stream, "One model request per turn, not streamed");
  serve->callback([flags, &exit_code] {
    LlmAgentOptions options;
    try {
      options = agent_options(*flags);
    } catch (const CLI::ValidationError& error) {
      print_error(error.what());
      exit_code = kUsage;
      return;
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = kFailure;
      return;
    }
    auto connection = connect_client(flags->servers, exit_code);
    if (!connection) return;
    try {
      serve_llm_agent(*connection, std::move(options));
      std::cerr << "serving LLM agent " << flags->name << std::endl;
      wait_for_shutdown();
      connection->close();
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = exit_code_for(error);
    }
  });
}

}  // namespace polaris::cli
