// schema/json_schema.cpp - wire schema <-> JSON Schema.
#include "schema/json_schema.hpp"

#include <algorithm>
#include <set>
#include <string>

namespace polaris::detail {
namespace {

constexpr int kMaxNodes = 10000;  // per conversion: real tool schemas have dozens of nodes

std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

const std::set<std::string>& simple_types() {
  static const std::set<std::string> types = {"object", "array",   "string", "integer",
                                              "number", "boolean", "null"};
  return types;
}

// ---- wire -> JSON Schema ----

// An INTEGER enum's values as numbers: "7" is 7; "1.5" or "7x" stay strings.
Json integer_enum(const Json& values) {
  Json out = Json::array();
  for (const auto& value : values) {
    if (value.is_string()) {
      Json number = Json::parse(value.get<std::string>(), nullptr, false);
      out.push_back(number.is_number_integer() ? number : value);
    } else {
      out.push_back(value);
    }
  }
  return out;
}

Json to_json_schema(const Json& wire, int depth) {
  if (!wire.is_object() || depth > kMaxSchemaDepth) return Json::object();
  Json out = Json::object();
  std::string type;
  if (auto it = wire.find("type"); it != wire.end() && it->is_string()) {
    type = lower(it->get<std::string>());
    if (simple_types().count(type) == 0) type.clear();
  }
  if (!type.empty()) out["type"] = type;
  if (auto it = wire.find("description"); it != wire.end() && it->is_string() && !it->empty()) {
    out["description"] = *it;
  }
  if (auto it = wire.find("enum"); it != wire.end() && it->is_array() && !it->empty()) {
    out["enum"] = type == "integer" ? integer_enum(*it) : *it;
  } else if (auto format = wire.find("format");
             format != wire.end() && format->is_string() && !format->empty() && *format != "enum") {
    out["format"] = *format;
  }
  if (auto it = wire.find("properties"); it != wire.end() && it->is_object()) {
    Json properties = Json::object();
    for (const auto& [name, schema] : it->items()) {
      properties[name] = to_json_schema(schema, depth + 1);
    }
    out["properties"] = properties;
  }
  if (auto it = wire.find("required"); it != wire.end() && it->is_array() && !it->empty()) {
    out["required"] = *it;
  }
  if (auto it = wire.find("items"); it != wire.end() && it->is_object()) {
    out["items"] = to_json_schema(*it, depth + 1);
  }
  return out;
}

// ---- JSON Schema -> wire ----

// One token of a JSON pointer with its escapes (~1 is '/', ~0 is '~') undone.
std::string unescape_pointer_token(std::string token) {
  for (std::size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i) {
    if (i + 1 < token.size() && token[i + 1] == '1')
      token.replace(i, 2, "/");
    else if (i + 1 < token.size() && token[i + 1] == '0')
      token.replace(i, 2, "~");
  }
  return token;
}

// The member or element `token` names in `node`; nullptr when there is none.
const Json* step(const Json& node, const std::string& token) {
  if (node.is_object()) {
    auto it = node.find(token);
    return it == node.end() ? nullptr : &*it;
  }
  if (!node.is_array() || token.empty() ||
      !std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return nullptr;
  }
  const auto index = std::stoul(token);  // may throw on overflow: json_schema_to_wire catches
  return index < node.size() ? &node[index] : nullptr;
}

// Resolves a local JSON pointer "#/a/b" against the root; nullptr when it does not resolve.
const Json* resolve(const Json& root, const std::string& ref) {
  if (ref.empty() || ref[0] != '#') return nullptr;
  if (ref == "#") return &root;
  const std::string pointer = ref.substr(1);
  if (pointer.empty() || pointer[0] != '/') return nullptr;
  const Json* node = &root;
  std::size_t start = 1;
  while (start <= pointer.size() && node != nullptr) {
    std::size_t end = pointer.find('/', start);
    if (end == std::string::npos) end = pointer.size();
    node = step(*node, unescape_pointer_token(pointer.substr(start, end - start)));
    start = end + 1;
  }
  return node;
}

// One conversion: the document `$ref`s resolve against, and how many more nodes it may convert.
struct Walk {
  const Json& root;
  int nodes_left;
};

Json convert(const Json& node, Walk& walk, int depth);

// Follows $ref chains (bounded) and returns the schema node to convert.
const Json* dereference(const Json& node, Walk& walk, int& depth) {
  const Json* current = &node;
  while (current->is_object() && current->contains("$ref") && (*current)["$ref"].is_string()) {
    if (++depth > kMaxSchemaDepth) return nullptr;
    const Json* target = resolve(walk.root, (*current)["$ref"].get<std::string>());
    if (target == nullptr) return nullptr;
    current = target;
  }
  return current;
}

// anyOf/oneOf: [x, {"type":"null"}] is a nullable x; otherwise the first branch that converts.
Json convert_alternatives(const Json& branches, Walk& walk, int depth, bool& nullable) {
  Json chosen;
  for (const auto& branch : branches) {
    int d = depth;
    const Json* target = dereference(branch, walk, d);
    if (target == nullptr) continue;
    if (target->is_object() && target->value("type", Json()) == "null") {
      nullable = true;
      continue;
    }
    if (chosen.is_null()) chosen = convert(*target, walk, d + 1);
  }
  return chosen.is_null() ? Json::object() : chosen;
}

// allOf: every part converted and merged into `out` (properties and required lists joined).
void merge_all_of(const Json& parts, Walk& walk, int depth, Json& out) {
  for (const auto& part : parts) {
    Json converted = convert(part, walk, depth + 1);
    for (auto& [key, value] : converted.items()) {
      if (key == "properties" && out.contains("properties")) {
        out["properties"].update(value);
      } else if (key == "required" && out.contains("required")) {
        for (const auto& name : value) out["required"].push_back(name);
      } else {
        out[key] = value;
      }
    }
  }
}

// Alternatives and compositions: the base that the node's own fields refine.
Json convert_compositions(const Json& node, Walk& walk, int depth, bool& nullable) {
  Json out = Json::object();
  for (const char* key : {"anyOf", "oneOf"}) {
    if (auto it = node.find(key); it != node.end() && it->is_array() && !it->empty()) {
      out = convert_alternatives(*it, walk, depth, nullable);
      break;
    }
  }
  if (auto it = node.find("allOf"); it != node.end() && it->is_array()) {
    merge_all_of(*it, walk, depth, out);
  }
  return out;
}

// The node's one simple type (lower case), "" when it names none or several; a "null" among
// the types makes it nullable.
std::string declared_type(const Json& node, bool& nullable) {
  std::string type;
  if (auto it = node.find("type"); it != node.end()) {
    if (it->is_string()) {
      type = it->get<std::string>();
    } else if (it->is_array()) {
      for (const auto& t : *it) {
        if (!t.is_string()) continue;
        if (t == "null") {
          nullable = true;
        } else if (type.empty()) {
          type = t.get<std::string>();
        } else {
          type = "*";  // several non-null types: the subset cannot say it; leave untyped
        }
      }
    }
  }
  if (type == "*" || (!type.empty() && simple_types().count(type) == 0)) type.clear();
  return type;
}

// enum / const as the subset's string enum; true when the node had values.
bool convert_enum(const Json& node, Json& out, bool& nullable) {
  Json values;
  if (auto it = node.find("enum"); it != node.end() && it->is_array()) values = *it;
  if (auto it = node.find("const"); it != node.end()) values = Json::array({*it});
  if (!values.is_array() || values.empty()) return false;
  Json strings = Json::array();
  bool all_scalar = true;
  for (const auto& value : values) {
    if (value.is_null()) {
      nullable = true;
    } else if (value.is_string()) {
      strings.push_back(value);
    } else if (value.is_number() || value.is_boolean()) {
      strings.push_back(value.dump());
    } else {
      all_scalar = false;
    }
  }
  const std::string t = out.value("type", "");
  // An enum is only meaningful to the subset on STRING or INTEGER (as Gemini reads it).
  if (!all_scalar || strings.empty() || !(t.empty() || t == "STRING" || t == "INTEGER")) {
    return true;
  }
  if (t.empty()) {
    const bool all_strings = std::all_of(
        values.begin(), values.end(), [](const Json& v) { return v.is_string() || v.is_null(); });
    if (all_strings) out["type"] = "STRING";
  }
  if (out.contains("type")) {
    out["format"] = "enum";
    out["enum"] = strings;
  }
  return true;
}

// The formats the subset knows, on the types it knows them for.
void convert_format(const Json& node, Json& out) {
  auto it = node.find("format");
  if (it == node.end() || !it->is_string()) return;
  const std::string format = it->get<std::string>();
  const std::string t = out.value("type", "");
  if ((t == "STRING" && format == "date-time") ||
      (t == "INTEGER" && (format == "int32" || format == "int64")) ||
      (t == "NUMBER" && (format == "float" || format == "double"))) {
    out["format"] = format;
  }
}

void convert_object_fields(const Json& node, Walk& walk, int depth, Json& out) {
  if (auto it = node.find("properties"); it != node.end() && it->is_object()) {
    Json properties = out.value("properties", Json::object());
    for (const auto& [name, schema] : it->items()) {
      if (name.empty()) continue;
      properties[name] = convert(schema, walk, depth + 1);
    }
    if (!properties.empty()) out["properties"] = properties;
  }
  if (auto it = node.find("required"); it != node.end() && it->is_array()) {
    Json required = out.value("required", Json::array());
    for (const auto& name : *it) {
      if (name.is_string() && out.contains("properties") && out["properties"].contains(name) &&
          std::find(required.begin(), required.end(), name) == required.end()) {
        required.push_back(name);
      }
    }
    if (!required.empty()) out["required"] = required;
  }
}

void convert_array_items(const Json& node, Walk& walk, int depth, Json& out) {
  if (auto it = node.find("items"); it != node.end()) {
    if (it->is_object()) {
      out["items"] = convert(*it, walk, depth + 1);
    } else if (it->is_array() && !it->empty()) {  // tuple form (draft 7): the first item's type
      out["items"] = convert((*it)[0], walk, depth + 1);
    }
  } else if (auto prefix = node.find("prefixItems");
             prefix != node.end() && prefix->is_array() && !prefix->empty()) {
    out["items"] = convert((*prefix)[0], walk, depth + 1);
  }
}

void convert_description(const Json& node, Json& out) {
  if (auto it = node.find("description"); it != node.end() && it->is_string()) {
    out["description"] = *it;
  } else if (auto title = node.find("title");
             title != node.end() && title->is_string() && !out.contains("description")) {
    out["description"] = *title;
  }
}

Json convert(const Json& input, Walk& walk, int depth) {
  // Shared $refs can make a small schema an exponentially large tree: past the budget, untyped.
  if (depth > kMaxSchemaDepth || --walk.nodes_left < 0) return Json::object();
  const Json* resolved = dereference(input, walk, depth);
  if (resolved == nullptr || !resolved->is_object()) return Json::object();
  const Json& node = *resolved;

  bool nullable = false;
  Json out = convert_compositions(node, walk, depth, nullable);
  std::string type = declared_type(node, nullable);
  // Infer a type the schema leaves implicit.
  if (type.empty() && !out.contains("type")) {
    if (node.contains("properties"))
      type = "object";
    else if (node.contains("items"))
      type = "array";
  }
  if (!type.empty()) out["type"] = upper(type);
  convert_description(node, out);
  if (!convert_enum(node, out, nullable)) convert_format(node, out);

  const std::string t = out.value("type", "");
  if (t == "OBJECT") {
    convert_object_fields(node, walk, depth, out);
  } else {
    out.erase("properties");
    out.erase("required");
  }
  if (t == "ARRAY") {
    convert_array_items(node, walk, depth, out);
  } else {
    out.erase("items");
  }
  if (nullable) out["nullable"] = true;
  return out;
}

}  // namespace

Json wire_to_json_schema(const Json& wire) { return to_json_schema(wire, 0); }

Json json_schema_to_wire(const Json& json_schema) {
  try {
    Walk walk{json_schema, kMaxNodes};
    return convert(json_schema, walk, 0);
  } catch (const std::exception&) {  // e.g. stoul overflow on a hostile pointer: no schema
    return Json::object();
  }
}

}  // namespace polaris::detail
