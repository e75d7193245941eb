// llm/json_schema.cpp - wire schema -> JSON Schema as OpenAI reads it, and checking a model's
// answer against a wire schema: the conversion and the validator themselves are in schema/.
#include "llm/json_schema.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "polaris/llm.hpp"
#include "schema/json_schema.hpp"
#include "schema/validate.hpp"

namespace polaris::llm {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The schema's type, lower-cased; "" when absent or not a string (JSON Schema's ["x", "null"]
// arrays reach us from tools that registered JSON Schema: they name no single wire type).
std::string type_of(const Json& schema) {
  const auto type = schema.find("type");
  return type != schema.end() && type->is_string() ? lower(type->get<std::string>()) : "";
}

// The converted schema as OpenAI reads it: an object lists its properties (perhaps none) and its
// required names and allows no others; only objects have properties; only strings a format
// (strict mode knows no other). `strict` becomes false where not every property is required.
void fit_for_openai(Json& node, bool& strict) {
  const std::string type = type_of(node);
  if (type != "string") node.erase("format");
  if (auto it = node.find("items"); it != node.end()) fit_for_openai(*it, strict);
  if (type != "object") {
    node.erase("properties");
    node.erase("required");
    return;
  }
  Json& properties = node["properties"];
  if (!properties.is_object()) properties = Json::object();
  for (auto& [name, sub] : properties.items()) fit_for_openai(sub, strict);
  if (!node.contains("required")) node["required"] = Json::array();
  node["additionalProperties"] = false;
  if (node["required"].size() != properties.size()) strict = false;
}

}  // namespace

JsonSchema to_json_schema(const Json& wire) {
  JsonSchema out;
  out.schema = polaris::detail::wire_to_json_schema(wire);
  fit_for_openai(out.schema, out.strict_compatible);
  return out;
}

}  // namespace polaris::llm

namespace polaris {

std::optional<std::string> check_against_schema(const Json& value, const Json& wire_schema) {
  return detail::check_value(value, wire_schema);
}

}  // namespace polaris
