// `polaris mcp import ...` and `polaris mcp serve ...`: MCP both ways from the command line.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/common.hpp"
#include "polaris/error.hpp"
#include "polaris/mcp.hpp"
#include "polaris/shutdown.hpp"

namespace polaris::cli {
namespace {

// Splits "CMD ARG 'two words' \"x y\"" like a shell would (quotes and backslashes only).
std::vector<std::string> split_command(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < text.size()) {
        word += text[++i];
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) throw CLI::ValidationError("--stdio", "unterminated quote");
  if (in_word) words.push_back(word);
  return words;
}

void add_import(CLI::App& mcp, int& exit_code) {
  struct Flags {
    std::vector<std::string> servers;
    std::string stdio;
    std::string url;
    bool sse = false;
    std::string prefix;
    std::vector<std::string> only;
    std::vector<std::string> headers;
    std::vector<std::string> env;
    std::string call_timeout;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* command =
      mcp.add_subcommand("import", "Register the tools of an MCP server in the cluster");
  add_server_option(*command, flags->servers);
  auto* stdio = command->add_option(
      "--stdio", flags->stdio, "Launch this command (\"CMD ARGS\") and speak MCP on its stdio");
  auto* url = command->add_option("--url", flags->url,
                                  "Streamable HTTP endpoint (or with --sse, the SSE endpoint)");
  stdio->excludes(url);
  command->add_flag("--sse", flags->sse, "Use the HTTP+SSE transport of 2024-11-05")->needs(url);
  command->add_option("--prefix", flags->prefix,
                      "Prefix of the polaris tool names (joined with _)");
  command->add_option("--only", flags->only, "Import only this MCP tool (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--header", flags->headers, "Extra HTTP header \"Name: value\" (repeatable)")
      ->allow_extra_args(false);
  command
      ->add_option("--env", flags->env,
                   "Environment of the --stdio server beyond the allow-list: NAME=value, or "
                   "NAME to pass ours on (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--call-timeout", flags->call_timeout,
                      "Timeout of one MCP tool call (default 60s)");
  command->callback([flags, &exit_code] {
    if (flags->stdio.empty() == flags->url.empty()) {
      print_error("give exactly one of --stdio and --url");
      exit_code = kUsage;
      return;
    }
    mcp::ImportOptions options;
    options.prefix = flags->prefix;
    options.only = flags->only;
    try {
      if (!flags->stdio.empty()) options.client.server.command = split_command(flags->stdio);
      if (!flags->call_timeout.empty()) options.call_timeout = parse_duration(flags->call_timeout);
    } catch (const CLI::ValidationError& error) {
      print_error(error.what());
      exit_code = kUsage;
      return;
    }
    if (!flags->stdio.empty() && options.client.server.command.empty()) {
      print_error("--stdio needs a command");
      exit_code = kUsage;
      return;
    }
    options.client.server.url = flags->url;
    options.client.server.sse = flags->sse;
    options.client.server.env = flags->env;
    for (const auto& header : flags->headers) {
      const auto colon = header.find(':');
      if (colon == std::string::npos) {
        print_error("--header must look like \"Name: value\"");
        exit_code = kUsage;
        return;
      }
      std::string value = header.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      options.client.server.headers.emplace_back(header.substr(0, colon), value);
    }
    auto connection = connect_client(flags->servers, exit_code);
    if (!connection) return;
    try {
      mcp::Import imported(*connection, options);
      std::cerr << "imported " << imported.tools().size() << " tools:";
      for (const auto& name : imported.tools()) std::cerr << ' ' << name;
      std::cerr << std::endl;
      // When the MCP server goes away, end as if signalled, so that the tools are unregistered.
      std::atomic<bool> done{false};
      std::thread watcher([&imported, &done] {
        while (!done.load() && imported.alive())
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (!done.load()) ::kill(::getpid(), SIGTERM);
      });
      wait_for_shutdown();
      const bool server_gone = !imported.alive();
      done.store(true);
      watcher.join();
      imported.close();
      if (server_gone) {
        print_error("the MCP server went away");
        exit_code = kFailure;
      }
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = exit_code_for(error);
    }
  });
}

void add_serve(CLI::App& mcp, int& exit_code) {
  struct Flags {
    std::vector<std::string> servers;
    std::string http;
    std::vector<std::string> allow;
    std::string token;
    std::vector<std::string> hosts;
    std::vector<std::string> origins;
    std::string call_timeout;
    std::string poll;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* command = mcp.add_subcommand(
      "serve",
      "Serve every tool of the cluster as one MCP server (stdio, or Streamable HTTP with --http)");
  add_server_option(*command, flags->servers);
  command->add_option(
      "--http", flags->http,
      "Serve Streamable HTTP on HOST:PORT (endpoint /mcp; port 0: any; prints the URL)");
  command->add_option("--allow", flags->allow, "Expose only this tool (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--token", flags->token,
                      "Require Authorization: Bearer TOKEN (HTTP); default $POLARIS_MCP_TOKEN");
  command->add_option("--allowed-host", flags->hosts, "Also accept this Host header (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--allowed-origin", flags->origins, "Also accept this Origin (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--call-timeout", flags->call_timeout,
                      "Timeout of one tool call (default 60s)");
  command->add_option("--poll", flags->poll,
                      "How often the catalogue is checked for changes (default 2s)");
  command->callback([flags, &exit_code] {
    mcp::ServerOptions options;
    options.allow = flags->allow;
    options.bearer_token = flags->token;
    if (options.bearer_token.empty()) {
      const char* token = std::getenv("POLARIS_MCP_TOKEN");  // NOLINT(concurrency-mt-unsafe)
      if (token != nullptr) options.bearer_token = token;
    }
    options.allowed_hosts = flags->hosts;
    options.allowed_origins = flags->origins;
    std::string host;
    int port = 0;
    try {
      if (!flags->call_timeout.empty()) options.call_timeout = parse_duration(flags->call_timeout);
      if (!flags->poll.empty()) options.catalogue_poll = parse_duration(flags->poll);
      if (!flags->http.empty()) {
        const auto address = parse_host_port("--http", flags->http);
        host = address.host;
        port = address.port;
      }
    } catch (const CLI::ValidationError& error) {
      print_error(error.what());
      exit_code = kUsage;
      return;
    }
    auto connection = connect_client(flags->servers, exit_code);
    if (!connection) return;
    try {
      mcp::Server server(*connection, options);
      if (flags->http.empty()) {
        server.serve_stdio(STDIN_FILENO, STDOUT_FILENO);
      } else {
        server.listen(host, port);
        std::cout << "http://" << host << ":" << server.port() << "/mcp" << std::endl;
        wait_for_shutdown();
      }
      server.close();
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = exit_code_for(error);
    }
  });
}

}  // namespace

void add_mcp_command(CLI::App& app, int& exit_code) {
  CLI::App* mcp = app.add_subcommand("mcp", "MCP (Model Context Protocol) both ways");
  mcp->require_subcommand(1);
  add_import(*mcp, exit_code);
  add_serve(*mcp, exit_code);
}

}  // namespace polaris::cli
