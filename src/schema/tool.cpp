#include "polaris/tool.hpp"
#include "polaris/error.hpp"
#include "protocol/names.hpp"

namespace polaris {

Result::Result(Json value) : value_(std::move(value)) {}

Result::Result(Json::initializer_list_t init) : value_(init) {}

Result Result::failure(std::string message) {
  Result result;
  result.error_ = std::move(message);
  return result;
}

const std::string& Result::error_message() const {
  static const std::string none;  // immutable
  return error_ ? *error_ : none;
}

bool is_valid_tool_name(std::string_view name) noexcept { return names::is_tool_name(name); }

Json ToolPolarisInfo::to_json() const {
  Json json = {{"replicable", replicable},
               {"idempotent", idempotent},
               {"timeout_ms", static_cast<std::int64_t>(timeout.count())}};
  if (!agent.empty()) json["agent"] = agent;
  if (replicas > 0) json["replicas"] = replicas;
  return json;
}

ToolPolarisInfo ToolPolarisInfo::from_json(const Json& json) {
  ToolPolarisInfo info;
  if (!json.is_object()) return info;
  auto flag = [&](const char* key) {
    const auto it = json.find(key);
    return it != json.end() && it->is_boolean() && it->get<bool>();
  };
  info.replicable = flag("replicable");
  info.idempotent = flag("idempotent");
  if (const auto agent = json.find("agent"); agent != json.end() && agent->is_string()) {
    info.agent = agent->get<std::string>();
  }
  if (const auto timeout = json.find("timeout_ms");
      timeout != json.end() && timeout->is_number() && timeout->get<double>() > 0) {
    info.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout->get<double>()));
  }
  if (const auto replicas = json.find("replicas"); replicas != json.end() &&
                                                   replicas->is_number_integer() &&
                                                   replicas->get<std::int64_t>() > 0) {
    info.replicas = replicas->get<std::size_t>();
  }
  return info;
}

Json ToolDeclaration::to_json() const {
  Json json = extra.is_object() ? extra : Json::object();
  for (const char* standard : {"name", "description", "parameters", "response", "polaris"}) {
    json.erase(standard);  // the modelled fields always win
  }
  json["name"] = name;
  if (!description.empty()) json["description"] = description;
  if (!parameters.is_null()) json["parameters"] = parameters;
  if (!response.is_null()) json["response"] = response;
  if (polaris) json["polaris"] = polaris->to_json();
  return json;
}

ToolDeclaration ToolDeclaration::from_json(const Json& json) {
  if (!json.is_object()) throw Error(Errc::protocol, "a tool declaration must be a JSON object");
  auto name = json.find("name");
  if (name == json.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    throw Error(Errc::protocol, "a tool declaration needs a non-empty string \"name\"");
  }
  ToolDeclaration declaration;
  declaration.name = name->get<std::string>();
  for (const auto& [key, value] : json.items()) {
    if (key == "name") continue;
    if (key == "description") {
      if (!value.is_string() && !value.is_null()) {
        throw Error(Errc::protocol, "tool declaration \"description\" must be a string");
      }
      declaration.description = value.is_string() ? value.get<std::string>() : "";
    } else if (key == "parameters" || key == "response") {
      if (!value.is_object() && !value.is_null()) {
        throw Error(Errc::protocol, "tool declaration \"" + key + "\" must be a schema object");
      }
      (key == "parameters" ? declaration.parameters : declaration.response) = value;
    } else if (key == "polaris") {
      // Modelled, never kept in extra: it must not reach an LLM provider. A malformed one
      // (not an object) is dropped.
      if (value.is_object()) declaration.polaris = ToolPolarisInfo::from_json(value);
    } else {
      declaration.extra[key] = value;
    }
  }
  return declaration;
}

}  // namespace polaris
