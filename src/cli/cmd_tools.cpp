// `polaris tools [NAME]`: the catalogue as a table or JSON, or one tool in full.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <set>

#include "cli/common.hpp"
#include "cli/observe_common.hpp"
#include "cli/output.hpp"
#include "client/service_discovery.hpp"  // kServiceName, agent_of
#include "polaris/error.hpp"
#include "transport/gather.hpp"

namespace polaris::cli {
namespace {

// "a*:NUMBER op*:STRING{add|sub}": each parameter with its type, '*' when required.
std::string summarize_parameters(const Json& parameters) {
  if (!parameters.is_object()) return "-";
  auto properties = parameters.find("properties");
  if (properties == parameters.end() || !properties->is_object() || properties->empty()) return "-";
  std::vector<std::string> required;
  if (auto list = parameters.find("required"); list != parameters.end() && list->is_array()) {
    for (const auto& name : *list) {
      if (name.is_string()) required.push_back(name.get<std::string>());
    }
  }
  std::string text;
  for (const auto& [name, schema] : properties->items()) {
    std::string entry = name;
    if (std::find(required.begin(), required.end(), name) != required.end()) entry += "*";
    if (schema.is_object()) {
      if (auto type = schema.find("type"); type != schema.end() && type->is_string()) {
        entry += ":" + type->get<std::string>();
      }
      if (auto values = schema.find("enum"); values != schema.end() && values->is_array()) {
        std::string joined;
        for (const auto& value : *values) {
          joined += (joined.empty() ? "" : "|") +
                    (value.is_string() ? value.get<std::string>() : value.dump());
        }
        entry += "{" + joined + "}";
      }
    }
    text += (text.empty() ? "" : " ") + entry;
  }
  return text;
}

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

std::string format_timeout(std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) return "-";
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000) + "s";
  return std::to_string(timeout.count()) + "ms";
}

void print_list(const std::vector<ToolDeclaration>& tools, Format format) {
  const bool wide = format == Format::wide;
  std::vector<std::vector<std::string>> rows{{"NAME", "DESCRIPTION", "PARAMETERS"}};
  if (wide) rows.front().insert(rows.front().begin() + 1, {"REPLICAS", "TIMEOUT"});
  for (const auto& tool : tools) {
    std::vector<std::string> row{tool.name, one_line(tool.description),
                                 summarize_parameters(tool.parameters)};
    if (wide) {
      row.insert(row.begin() + 1, {tool.polaris && tool.polaris->replicas > 0
                                       ? std::to_string(tool.polaris->replicas)
                                       : "-",
                                   tool.polaris ? format_timeout(tool.polaris->timeout) : "-"});
    }
    rows.push_back(std::move(row));
  }
  // The description gives way to the terminal's width (wide: nothing is cut).
  std::cout << format_table(std::move(rows),
                            {.width = wide ? 0 : output_width(), .shrink = {1, 2}});
}

// The agents that serve `name`, by their $SRV.INFO answers (every agent answers for itself).
std::vector<std::string> agents_serving(const std::vector<std::string>& servers,
                                        const std::string& name) {
  int ignored = 0;
  auto connection = connect_plain(servers, ignored);
  if (!connection) return {};
  std::set<std::string> agents;
  for (const auto& body : detail::gather(
           connection->get(), "$SRV.INFO." + std::string(detail::kServiceName), "",
           {.timeout = std::chrono::milliseconds(2000), .quiet = std::chrono::milliseconds(300)})) {
    const Json answer = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!answer.is_object()) continue;
    const auto endpoints = answer.find("endpoints");
    if (endpoints == answer.end() || !endpoints->is_array()) continue;
    for (const auto& endpoint : *endpoints) {
      if (endpoint.is_object() && endpoint.value("name", "") == name) {
        agents.insert(detail::agent_of(answer));
      }
    }
  }
  return {agents.begin(), agents.end()};
}

std::string text_of(const Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

void print_tool(const ToolDeclaration& tool, const std::vector<std::string>& agents,
                Format format) {
  const bool wide = format == Format::wide;
  const std::size_t width = wide ? 0 : output_width();
  std::string agent_list;
  for (const auto& agent : agents) agent_list += (agent_list.empty() ? "" : ", ") + agent;
  std::vector<std::vector<std::string>> facts{
      {"Name:", tool.name},
      {"Description:", one_line(tool.description)},
      {"Replicas:",
       tool.polaris && tool.polaris->replicas > 0 ? std::to_string(tool.polaris->replicas) : "-"},
      {"Agents:", agent_list.empty() ? "-" : agent_list}};
  if (tool.polaris) {
    facts.push_back({"Timeout:", format_timeout(tool.polaris->timeout)});
    facts.push_back({"Replicable:", tool.polaris->replicable ? "yes" : "no"});
    facts.push_back({"Idempotent:", tool.polaris->idempotent ? "yes" : "no"});
  }
  std::cout << format_table(std::move(facts), {.width = width, .shrink = {1}});
  std::vector<std::vector<std::string>> parameters{
      {"  PARAMETER", "TYPE", "REQUIRED", "DEFAULT", "ENUM", "DESCRIPTION"}};
  const Json& schema = tool.parameters;
  std::set<std::string> required;
  if (schema.is_object()) {
    if (const auto list = schema.find("required"); list != schema.end() && list->is_array()) {
      for (const auto& item : *list) {
        if (item.is_string()) required.insert(item.get<std::string>());
      }
    }
    if (const auto properties = schema.find("properties");
        properties != schema.end() && properties->is_object()) {
      for (const auto& [name, property] : properties->items()) {
        const Json field = property.is_object() ? property : Json::object();
        std::string values;
        if (const auto list = field.find("enum"); list != field.end() && list->is_array()) {
          for (const auto& value : *list) values += (values.empty() ? "" : "|") + text_of(value);
        }
        parameters.push_back({"  " + name, field.contains("type") ? text_of(field["type"]) : "-",
                              required.count(name) > 0 ? "yes" : "no",
                              field.contains("default") ? text_of(field["default"]) : "-",
                              values.empty() ? "-" : values,
                              one_line(field.value("description", std::string("-")))});
      }
    }
  }
  if (parameters.size() == 1) {
    std::cout << "Parameters:   none\n";
  } else {
    std::cout << "Parameters:\n"
              << format_table(std::move(parameters), {.width = width, .shrink = {5, 4}});
  }
  if (!tool.response.is_null()) std::cout << "Response:     " << tool.response.dump() << '\n';
}

}  // namespace

void add_tools_command(CLI::App& app, int& exit_code) {
  struct Flags {
    std::vector<std::string> servers;
    std::string name;
    OutputFlags output;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* command = app.add_subcommand(
      "tools", "List the tools in the cluster, or describe one (polaris tools NAME)");
  command->add_option("name", flags->name,
                      "Describe this tool in full: each parameter with its type, whether it is "
                      "required, its default and allowed values; the agents serving it");
  add_server_option(*command, flags->servers);
  add_output_options(*command, flags->output,
                     "the declarations as one array; with NAME the declaration, with the agents "
                     "serving it under \"agents\"",
                     /*names=*/true);
  command->callback([flags, &exit_code] {
    auto connection = connect_client(flags->servers, exit_code);
    if (!connection) return;
    try {
      auto tools = connection->list_tools();
      std::sort(tools.begin(), tools.end(),
                [](const auto& a, const auto& b) { return a.name < b.name; });
      const Format format = flags->output.format();
      if (!flags->name.empty()) {
        const auto tool = std::find_if(tools.begin(), tools.end(),
                                       [&](const auto& t) { return t.name == flags->name; });
        if (tool == tools.end()) {
          std::string names;
          for (const auto& t : tools) names += (names.empty() ? "" : ", ") + t.name;
          print_error("no such tool: " + flags->name +
                      (names.empty() ? " (the catalogue is empty)" : " (tools: " + names + ")"));
          exit_code = kFailure;
          return;
        }
        const auto agents = agents_serving(flags->servers, tool->name);
        if (format == Format::json) {
          Json json = tool->to_json();
          json["agents"] = agents;
          std::cout << format_json(json);
        } else {
          print_tool(*tool, agents, format);
        }
        return;
      }
      if (format == Format::name) {
        for (const auto& tool : tools) std::cout << tool.name << '\n';
      } else if (format == Format::json) {
        Json array = Json::array();
        for (const auto& tool : tools) array.push_back(tool.to_json());
        std::cout << format_json(array);
      } else {
        print_list(tools, format);
      }
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = exit_code_for(error);
    }
  });
}

}  // namespace polaris::cli
