// llm/json_schema.cpp - wire schema -> JSON Schema, and checking a value against a wire schema.
#include "llm/json_schema.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>
#include <string>

#include "polaris/llm.hpp"

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

Json convert(const Json& wire, bool& strict) {
  if (!wire.is_object()) return Json::object();
  Json out = Json::object();
  const std::string type = type_of(wire);
  if (!type.empty()) out["type"] = type;
  if (const auto d = wire.find("description"); d != wire.end() && d->is_string() && !d->empty()) {
    out["description"] = *d;
  }
  if (const auto e = wire.find("enum"); e != wire.end() && e->is_array() && !e->empty()) {
    Json values = Json::array();
    for (const auto& v : *e) {
      if (type == "integer" && v.is_string()) {
        try {
          values.push_back(std::stoll(v.get<std::string>()));
        } catch (const std::exception&) {
          values.push_back(v);
        }
      } else {
        values.push_back(v);
      }
    }
    out["enum"] = values;
  }
  if (const auto f = wire.find("format");
      f != wire.end() && f->is_string() && *f != "enum" && type == "string" && !f->empty()) {
    out["format"] = *f;  // date-time and friends are JSON Schema formats too
  }
  if (const auto items = wire.find("items"); items != wire.end())
    out["items"] = convert(*items, strict);
  if (type == "object") {
    Json properties = Json::object();
    if (const auto p = wire.find("properties"); p != wire.end() && p->is_object()) {
      for (const auto& [name, sub] : p->items()) properties[name] = convert(sub, strict);
    }
    out["properties"] = properties;
    Json required = Json::array();
    if (const auto r = wire.find("required"); r != wire.end() && r->is_array()) required = *r;
    out["required"] = required;
    out["additionalProperties"] = false;
    if (required.size() != properties.size()) strict = false;
  }
  return out;
}

const char* type_name(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

bool matches_type(const Json& v, const std::string& type) {
  if (type.empty()) return true;
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    // A float is integral when it has no fraction (casting a huge one to an integer is undefined).
    return v.is_number_integer() || v.is_number_unsigned() ||
           (v.is_number_float() && std::isfinite(v.get<double>()) &&
            v.get<double>() == std::trunc(v.get<double>()));
  }
  if (type == "null") return v.is_null();
  return true;
}

std::optional<std::string> check(const Json& value, const Json& schema, const std::string& path) {
  if (!schema.is_object()) return std::nullopt;
  const std::string type = type_of(schema);
  if (value.is_null()) {
    const auto nullable = schema.find("nullable");
    if (type.empty() || type == "null" ||
        (nullable != schema.end() && nullable->is_boolean() && nullable->get<bool>())) {
      return std::nullopt;
    }
    return path + ": null where " + type + " is expected";
  }
  if (!matches_type(value, type)) {
    return path + ": " + type_name(value) + " where " + type + " is expected";
  }
  if (const auto e = schema.find("enum"); e != schema.end() && e->is_array() && !e->empty()) {
    const bool found = std::any_of(e->begin(), e->end(), [&](const Json& allowed) {
      return allowed == value || (allowed.is_string() && !value.is_string() &&
                                  allowed.get<std::string>() == value.dump());
    });
    if (!found) return path + ": " + value.dump() + " is not one of " + e->dump();
  }
  if (value.is_object()) {
    if (const auto r = schema.find("required"); r != schema.end() && r->is_array()) {
      for (const auto& name : *r) {
        if (name.is_string() && !value.contains(name.get<std::string>())) {
          return path + ": missing required property \"" + name.get<std::string>() + "\"";
        }
      }
    }
    if (const auto p = schema.find("properties"); p != schema.end() && p->is_object()) {
      for (const auto& [name, sub] : p->items()) {
        if (const auto v = value.find(name); v != value.end()) {
          if (auto problem = check(*v, sub, path + "." + name)) return problem;
        }
      }
    }
  }
  if (value.is_array()) {
    if (const auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (auto problem = check(value[i], *items, path + "[" + std::to_string(i) + "]")) {
          return problem;
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace

JsonSchema to_json_schema(const Json& wire) {
  JsonSchema out;
  out.schema = convert(wire, out.strict_compatible);
  return out;
}

}  // namespace polaris::llm

namespace polaris {

std::optional<std::string> check_against_schema(const Json& value, const Json& wire_schema) {
  return llm::check(value, wire_schema, "$");
}

}  // namespace polaris
