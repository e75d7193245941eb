// `polaris call NAME [ARGUMENTS]`: call one tool and print its result.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "cli/common.hpp"
#include "cli/output.hpp"
#include "polaris/error.hpp"

namespace polaris::cli {
namespace {

// Bad arguments: a usage error (exit 2).
struct ArgumentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string read_all(std::istream& in) {
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A JSON object from text; a syntax error says where (nlohmann's "at line L, column C").
Json parse_object(const std::string& text, const std::string& source) {
  Json value;
  try {
    value = Json::parse(text);
  } catch (const Json::parse_error& error) {
    std::string what = error.what();
    if (const auto bracket = what.find("] ");
        what.rfind("[json.exception", 0) == 0 && bracket != std::string::npos) {
      what = what.substr(bracket + 2);
    }
    throw ArgumentError("invalid JSON in " + source + ": " + what);
  }
  if (!value.is_object()) {
    throw ArgumentError(source + " must be a JSON object, e.g. '{\"a\": 1}'");
  }
  return value;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// One key=value, typed by the property's schema: numbers, integers and booleans parsed, strings
// as typed, arrays and objects as JSON; without a type, JSON if it parses, else a string.
Json typed_value(const std::string& key, const std::string& text, const Json& property) {
  const std::string type =
      property.is_object() && property.contains("type") && property["type"].is_string()
          ? lower(property["type"].get<std::string>())
          : std::string();
  auto fail = [&](const std::string& expected) -> ArgumentError {
    return ArgumentError(key + "=" + text + ": " + key + " is " + expected);
  };
  if (type == "string") return text;
  if (type == "number" || type == "integer") {
    const Json number = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!number.is_number()) throw fail(type == "number" ? "a number" : "an integer");
    if (type == "integer" && !number.is_number_integer()) {
      const double value = number.get<double>();
      if (std::floor(value) != value) throw fail("an integer");
      return static_cast<std::int64_t>(value);
    }
    return number;
  }
  if (type == "boolean") {
    if (text == "true") return true;
    if (text == "false") return false;
    throw fail("true or false");
  }
  if (type == "array" || type == "object") {
    Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (type == "array" ? !value.is_array() : !value.is_object()) {
      throw fail(type == "array" ? "a JSON array" : "a JSON object");
    }
    return value;
  }
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? Json(text) : value;
}

// key=value pairs typed by the tool's declared parameters.
Json pairs_to_object(const std::vector<std::string>& pairs, const ToolDeclaration& tool) {
  const Json properties = tool.parameters.is_object()
                              ? tool.parameters.value("properties", Json::object())
                              : Json::object();
  Json arguments = Json::object();
  for (const auto& pair : pairs) {
    const auto equals = pair.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw ArgumentError("'" + pair +
                          "' is not KEY=VALUE (the arguments are one JSON object, '-' for "
                          "standard input, @FILE, or KEY=VALUE pairs)");
    }
    const std::string key = pair.substr(0, equals);
    const std::string text = pair.substr(equals + 1);
    const auto property = properties.find(key);
    if (properties.is_object() && !properties.empty() && property == properties.end()) {
      std::string names;
      for (const auto& [name, schema] : properties.items()) {
        names += (names.empty() ? "" : ", ") + name;
      }
      throw ArgumentError(tool.name + " has no parameter " + key + " (parameters: " + names + ")");
    }
    arguments[key] =
        typed_value(key, text, property != properties.end() ? *property : Json::object());
  }
  return arguments;
}

// The arguments as given: none, one JSON object, "-" (stdin), "@FILE", or KEY=VALUE pairs.
// `tool` is asked for only for pairs.
Json arguments_from(const std::vector<std::string>& words,
                    const std::function<ToolDeclaration()>& tool) {
  if (words.empty()) return Json::object();
  if (words.size() == 1) {
    const std::string& word = words.front();
    if (word == "-") return parse_object(read_all(std::cin), "standard input");
    if (word.rfind('@', 0) == 0) {
      std::ifstream file(word.substr(1));
      if (!file) throw ArgumentError("cannot read " + word.substr(1));
      return parse_object(read_all(file), word.substr(1));
    }
    if (word.find('=') == std::string::npos ||
        word.find_first_not_of(" \t\r\n") == word.find('{')) {
      return parse_object(word, "the arguments");
    }
  }
  return pairs_to_object(words, tool());
}

// A tool's progress and log messages (docs/PROTOCOL.md, "MCP"), one line each on stderr.
void print_progress(const Json& message) {
  std::ostringstream line;
  if (const auto log = message.find("log"); log != message.end() && log->is_object()) {
    line << "log " << log->value("level", "info");
    if (const std::string logger = log->value("logger", ""); !logger.empty()) line << " " << logger;
    const Json data = log->value("data", Json());
    line << ": " << (data.is_string() ? data.get<std::string>() : data.dump());
  } else if (message.contains("progress")) {
    const Json progress = message["progress"];
    line << "progress " << progress.dump();
    if (const auto total = message.find("total"); total != message.end() && total->is_number()) {
      line << "/" << total->dump();
    }
    if (const std::string text = message.value("message", ""); !text.empty()) line << " " << text;
  } else {
    line << "progress " << message.dump();
  }
  std::cerr << line.str() + "\n" << std::flush;
}

}  // namespace

void add_call_command(CLI::App& app, int& exit_code) {
  struct Flags {
    std::vector<std::string> servers;
    std::string name;
    std::vector<std::string> arguments;
    std::string timeout;
    bool quiet = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* command = app.add_subcommand(
      "call", "Call a tool and print its result as JSON (its progress and log messages on stderr)");
  add_server_option(*command, flags->servers);
  command->add_option("name", flags->name, "Tool name")->required();
  command->add_option("arguments", flags->arguments,
                      "The arguments: one JSON object (default {}), - to read it from standard "
                      "input, @FILE to read it from FILE, or KEY=VALUE pairs typed by the tool's "
                      "parameters (e.g. operation=add a=1 b=2)");
  command->add_option("--timeout", flags->timeout,
                      "Call timeout (e.g. 500ms, 30s; default: the tool's declared timeout, else "
                      "5s)");
  command->add_flag("-q,--quiet", flags->quiet,
                    "Do not print the tool's progress and log messages");
  command->callback([flags, &exit_code] {
    CallOptions options;
    try {
      if (!flags->timeout.empty()) options.timeout = parse_duration(flags->timeout);
    } catch (const CLI::ValidationError& error) {
      print_error(error.what());
      exit_code = kUsage;
      return;
    }
    // JSON from the command line, a file or stdin is checked before connecting.
    std::optional<Connection> connection;
    Json arguments;
    try {
      arguments = arguments_from(flags->arguments, [&]() -> ToolDeclaration {
        connection = connect_client(flags->servers, exit_code);
        if (!connection) throw Error(Errc::connection_failed, "");
        for (auto& tool : connection->list_tools()) {
          if (tool.name == flags->name) return tool;
        }
        throw Error(Errc::no_such_tool, "no such tool: " + flags->name);
      });
    } catch (const ArgumentError& error) {
      print_error(error.what());
      exit_code = kUsage;
      return;
    } catch (const Error& error) {
      if (!connection) return;  // connect_client has said why
      print_error(error.what());
      exit_code = exit_code_for(error);
      return;
    }
    if (!connection) connection = connect_client(flags->servers, exit_code);
    if (!connection) return;
    if (!flags->quiet) options.on_progress = print_progress;
    try {
      std::cout << connection->call(flags->name, arguments, options).dump() << '\n';
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = exit_code_for(error);
    }
  });
}

}  // namespace polaris::cli
