// mcp/convert.cpp - JSON Schema <-> polaris wire schema, tool names, call results.
#include <algorithm>
#include <set>
#include <string>

#include "polaris/mcp.hpp"
#include "polaris/tool.hpp"

namespace polaris::mcp {
namespace {

constexpr int kMaxDepth = 32;     // deeper nesting (or a $ref cycle) gives an untyped schema
constexpr int kMaxNodes = 10000;  // per conversion: real tool schemas have dozens of nodes

std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// Resolves a local JSON pointer "#/a/b" against the root; nullptr when it does not resolve.
const Json* resolve(const Json& root, const std::string& ref) {
  if (ref.empty() || ref[0] != '#') return nullptr;
  if (ref == "#") return &root;
  const std::string pointer = ref.substr(1);
  if (pointer.empty() || pointer[0] != '/') return nullptr;
  const Json* node = &root;
  std::size_t start = 1;
  while (start <= pointer.size()) {
    std::size_t end = pointer.find('/', start);
    if (end == std::string::npos) end = pointer.size();
    std::string token = pointer.substr(start, end - start);
    for (std::size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i) {
      if (i + 1 < token.size() && token[i + 1] == '1')
        token.replace(i, 2, "/");
      else if (i + 1 < token.size() && token[i + 1] == '0')
        token.replace(i, 2, "~");
    }
    if (node->is_object()) {
      auto it = node->find(token);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      if (token.empty() ||
          !std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return nullptr;
      }
      const auto index = std::stoul(token);
      if (index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
    start = end + 1;
  }
  return node;
}

const std::set<std::string>& simple_types() {
  static const std::set<std::string> types = {"object", "array",   "string", "integer",
                                              "number", "boolean", "null"};
  return types;
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
    if (++depth > kMaxDepth) return nullptr;
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

Json convert(const Json& input, Walk& walk, int depth) {
  // Shared $refs can make a small schema an exponentially large tree: past the budget, untyped.
  if (depth > kMaxDepth || --walk.nodes_left < 0) return Json::object();
  const Json* resolved = dereference(input, walk, depth);
  if (resolved == nullptr || !resolved->is_object()) return Json::object();
  const Json& node = *resolved;

  Json out = Json::object();
  bool nullable = false;

  // Alternatives and compositions first: their result is the base the node's own fields refine.
  for (const char* key : {"anyOf", "oneOf"}) {
    if (auto it = node.find(key); it != node.end() && it->is_array() && !it->empty()) {
      out = convert_alternatives(*it, walk, depth, nullable);
      break;
    }
  }
  if (auto it = node.find("allOf"); it != node.end() && it->is_array()) {
    for (const auto& part : *it) {
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
  // Infer a type the schema leaves implicit.
  if (type.empty() && !out.contains("type")) {
    if (node.contains("properties"))
      type = "object";
    else if (node.contains("items"))
      type = "array";
  }
  if (!type.empty()) out["type"] = upper(type);

  if (auto it = node.find("description"); it != node.end() && it->is_string()) {
    out["description"] = *it;
  } else if (auto title = node.find("title");
             title != node.end() && title->is_string() && !out.contains("description")) {
    out["description"] = *title;
  }

  // enum / const: the subset has string enums only.
  Json values;
  if (auto it = node.find("enum"); it != node.end() && it->is_array()) values = *it;
  if (auto it = node.find("const"); it != node.end()) values = Json::array({*it});
  if (values.is_array() && !values.empty()) {
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
    if (all_scalar && !strings.empty() && (t.empty() || t == "STRING" || t == "INTEGER")) {
      if (t.empty()) {
        const bool all_strings = std::all_of(values.begin(), values.end(), [](const Json& v) {
          return v.is_string() || v.is_null();
        });
        if (all_strings) out["type"] = "STRING";
      }
      if (out.contains("type")) {
        out["format"] = "enum";
        out["enum"] = strings;
      }
    }
  } else if (auto it = node.find("format"); it != node.end() && it->is_string()) {
    const std::string format = it->get<std::string>();
    const std::string t = out.value("type", "");
    if ((t == "STRING" && format == "date-time") ||
        (t == "INTEGER" && (format == "int32" || format == "int64")) ||
        (t == "NUMBER" && (format == "float" || format == "double"))) {
      out["format"] = format;
    }
  }

  const std::string t = out.value("type", "");
  if (t == "OBJECT") {
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
  } else {
    out.erase("properties");
    out.erase("required");
  }
  if (t == "ARRAY") {
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
  } else {
    out.erase("items");
  }
  if (nullable) out["nullable"] = true;
  return out;
}

Json to_json_schema(const Json& wire, int depth) {
  if (!wire.is_object() || depth > kMaxDepth) return Json::object();
  Json out = Json::object();
  std::string type;
  if (auto it = wire.find("type"); it != wire.end() && it->is_string()) {
    type = it->get<std::string>();
    for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (simple_types().count(type) == 0) type.clear();
  }
  if (!type.empty()) out["type"] = type;
  if (auto it = wire.find("description"); it != wire.end() && it->is_string() && !it->empty()) {
    out["description"] = *it;
  }
  if (auto it = wire.find("enum"); it != wire.end() && it->is_array() && !it->empty()) {
    Json values = Json::array();
    for (const auto& value : *it) {
      if (type == "integer" && value.is_string()) {
        Json number = Json::parse(value.get<std::string>(), nullptr, false);
        values.push_back(number.is_number_integer() ? number : value);
      } else {
        values.push_back(value);
      }
    }
    out["enum"] = values;
  } else if (auto format = wire.find("format");
             format != wire.end() && format->is_string() && !format->empty()) {
    out["format"] = *format;
  }
  if (auto it = wire.find("properties"); it != wire.end() && it->is_object()) {
    Json properties = Json::object();
    for (const auto& [name, schema] : it->items())
      properties[name] = to_json_schema(schema, depth + 1);
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

}  // namespace

const std::vector<std::string>& supported_protocol_versions() {
  static const std::vector<std::string> versions = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                    "2024-11-05"};
  return versions;
}

Json json_schema_to_wire(const Json& json_schema) {
  try {
    Walk walk{json_schema, kMaxNodes};
    return convert(json_schema, walk, 0);
  } catch (const std::exception&) {  // e.g. stoul overflow on a hostile pointer: no schema
    return Json::object();
  }
}

Json wire_to_json_schema(const Json& wire_schema) {
  Json out = to_json_schema(wire_schema, 0);
  if (!out.contains("type")) out["type"] = "object";
  return out;
}

std::string polaris_tool_name(const std::string& prefix, const std::string& name) {
  std::string joined = prefix.empty() ? name : prefix + "_" + name;
  for (auto& c : joined) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (joined.empty() || !((joined[0] >= 'A' && joined[0] <= 'Z') ||
                          (joined[0] >= 'a' && joined[0] <= 'z') || joined[0] == '_')) {
    joined.insert(joined.begin(), '_');
  }
  if (joined.size() > 64) joined.resize(64);
  return joined;
}

Json call_result_from_reply(const Json& reply) {
  if (reply.is_object()) {
    auto content = reply.find("content");
    if (content != reply.end() && content->is_array() &&
        std::all_of(content->begin(), content->end(), [](const Json& block) {
          return block.is_object() && block.contains("type") && block["type"].is_string();
        })) {
      Json result = {{"content", *content}};
      if (auto it = reply.find("structuredContent"); it != reply.end() && it->is_object()) {
        result["structuredContent"] = *it;
      }
      if (auto it = reply.find("isError");
          it != reply.end() && it->is_boolean() && it->get<bool>()) {
        result["isError"] = true;
      }
      return result;
    }
  }
  Json result = {{"content", Json::array({{{"type", "text"}, {"text", reply.dump()}}})}};
  if (reply.is_object()) result["structuredContent"] = reply;
  return result;
}

Json reply_from_call_result(const Json& result) {
  Json reply = Json::object();
  Json content = result.is_object() ? result.value("content", Json::array()) : Json::array();
  if (!content.is_array()) content = Json::array();
  Json texts = Json::array();
  for (const auto& block : content) {
    if (block.is_object() && block.contains("type") && block["type"] == "text" &&
        block.contains("text") && block["text"].is_string()) {
      texts.push_back(block["text"]);
    }
  }
  reply["content"] = content;
  reply["results"] = texts;
  if (result.is_object()) {
    if (auto it = result.find("structuredContent"); it != result.end() && !it->is_null()) {
      reply["structuredContent"] = *it;
    }
  }
  return reply;
}

}  // namespace polaris::mcp
