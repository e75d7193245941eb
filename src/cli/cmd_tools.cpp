// `polaris tools`: the catalogue as a table, or as JSON.
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/common.hpp"
#include "polaris/error.hpp"

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

void print_table(std::vector<ToolDeclaration> tools) {
  std::sort(tools.begin(), tools.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<std::array<std::string, 3>> rows{{"NAME", "DESCRIPTION", "PARAMETERS"}};
  for (const auto& tool : tools) {
    std::string description = tool.description;
    std::replace(description.begin(), description.end(), '\n', ' ');
    rows.push_back({tool.name, description, summarize_parameters(tool.parameters)});
  }
  std::size_t name_width = 0;
  std::size_t description_width = 0;
  for (const auto& row : rows) {
    name_width = std::max(name_width, row[0].size());
    description_width = std::max(description_width, row[1].size());
  }
  for (const auto& row : rows) {
    std::cout << row[0] << std::string(name_width - row[0].size() + 2, ' ') << row[1]
              << std::string(description_width - row[1].size() + 2, ' ') << row[2] << '\n';
  }
}

}  // namespace

void add_tools_command(CLI::App& app, int& exit_code) {
  struct Flags {
    std::vector<std::string> servers;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* command = app.add_subcommand("tools", "List the tools in the cluster");
  add_server_option(*command, flags->servers);
  command->add_flag("--json", flags->json, "Print the declarations as one JSON array");
  command->callback([flags, &exit_code] {
    auto connection = connect_client(flags->servers, exit_code);
    if (!connection) return;
    try {
      auto tools = connection->list_tools();
      if (flags->json) {
        std::sort(tools.begin(), tools.end(),
                  [](const auto& a, const auto& b) { return a.name < b.name; });
        Json array = Json::array();
        for (const auto& tool : tools) array.push_back(tool.to_json());
        std::cout << array.dump() << '\n';
      } else {
        print_table(std::move(tools));
      }
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = exit_code_for(error);
    }
  });
}

}  // namespace polaris::cli
