#include <cctype>
#include <set>

#include "polaris/error.hpp"
#include "polaris/schema.hpp"
#include "schema/schema_node.hpp"

namespace polaris {
namespace {

using Node = Schema::Node;

Node scalar(SchemaType type, const std::string& description, bool required, bool nullable) {
  Node node;
  node.type = type;
  node.description = description;
  node.required = required;
  node.nullable = nullable;
  return node;
}

// Typed arrays render their items with only a type and a description (no nullable), which is
// exactly what parsing such a wire schema yields.
Schema typed_items(SchemaType type, const std::string& item_description) {
  Json json{{"type", to_string(type)}};
  if (!item_description.empty()) json["description"] = item_description;
  return Schema::from_json(json);
}

void check_unique(const Properties& properties) {
  std::set<std::string_view> seen;
  for (const auto& [name, schema] : properties) {
    if (name.empty()) throw Error(Errc::invalid_argument, "schema property with an empty name");
    if (!seen.insert(name).second) {
      throw Error(Errc::invalid_argument, "schema property '" + name + "' is declared twice");
    }
  }
}

SchemaType type_from_wire(std::string_view name) {
  for (auto type : {SchemaType::object, SchemaType::array, SchemaType::string, SchemaType::integer,
                    SchemaType::number, SchemaType::boolean, SchemaType::null}) {
    if (to_string(type) == name) return type;
  }
  // Be liberal in what we accept: JSON Schema spells the types in lower case.
  std::string upper(name);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (auto type : {SchemaType::object, SchemaType::array, SchemaType::string, SchemaType::integer,
                    SchemaType::number, SchemaType::boolean, SchemaType::null}) {
    if (to_string(type) == upper) return type;
  }
  return SchemaType::unspecified;
}

const Node& empty_node() {
  static const Node node;  // immutable
  return node;
}

}  // namespace

std::string_view to_string(SchemaType type) noexcept {
  switch (type) {
    case SchemaType::object: return "OBJECT";
    case SchemaType::array: return "ARRAY";
    case SchemaType::string: return "STRING";
    case SchemaType::integer: return "INTEGER";
    case SchemaType::number: return "NUMBER";
    case SchemaType::boolean: return "BOOLEAN";
    case SchemaType::null: return "NULL";
    case SchemaType::unspecified: return "";
  }
  return "";
}

Schema::Schema(const Int& s) {
  Node node = scalar(SchemaType::integer, s.description, s.required, s.nullable);
  if (s.default_value) node.default_value = *s.default_value;
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const Float& s) {
  Node node = scalar(SchemaType::number, s.description, s.required, s.nullable);
  if (s.default_value) node.default_value = *s.default_value;
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const String& s) {
  Node node = scalar(SchemaType::string, s.description, s.required, s.nullable);
  if (s.default_value) node.default_value = *s.default_value;
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const Bool& s) {
  Node node = scalar(SchemaType::boolean, s.description, s.required, s.nullable);
  if (s.default_value) node.default_value = *s.default_value;
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const IntEnum& s) {
  Node node = scalar(SchemaType::integer, s.description, s.required, s.nullable);
  node.format = "enum";
  for (auto value : s.values) node.enum_values.push_back(std::to_string(value));
  if (s.default_value) node.default_value = *s.default_value;
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const StringEnum& s) {
  Node node = scalar(SchemaType::string, s.description, s.required, s.nullable);
  node.format = "enum";
  node.enum_values = s.values;
  if (s.default_value) node.default_value = *s.default_value;
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const IntArray& s) {
  Node node = scalar(SchemaType::array, s.description, s.required, s.nullable);
  node.items = typed_items(SchemaType::integer, s.item_description);
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const FloatArray& s) {
  Node node = scalar(SchemaType::array, s.description, s.required, s.nullable);
  node.items = typed_items(SchemaType::number, s.item_description);
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const StringArray& s) {
  Node node = scalar(SchemaType::array, s.description, s.required, s.nullable);
  node.items = typed_items(SchemaType::string, s.item_description);
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const BoolArray& s) {
  Node node = scalar(SchemaType::array, s.description, s.required, s.nullable);
  node.items = typed_items(SchemaType::boolean, s.item_description);
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const Object& s) {
  check_unique(s.properties);
  Node node = scalar(SchemaType::object, s.description, s.required, s.nullable);
  node.properties = s.properties;
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const Array& s) {
  Node node = scalar(SchemaType::array, s.description, s.required, s.nullable);
  node.items = s.items;
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema::Schema(const ObjectArray& s) {
  check_unique(s.properties);
  Node items;
  items.type = SchemaType::object;
  items.description = s.item_description;
  items.properties = s.properties;
  items.render_nullable = false;
  Node node = scalar(SchemaType::array, s.description, s.required, s.nullable);
  node.items = Schema(std::make_shared<const Node>(std::move(items)));
  node_ = std::make_shared<const Node>(std::move(node));
}

Schema Schema::from_json(const Json& json) {
  if (!json.is_object()) throw Error(Errc::invalid_argument, "a schema must be a JSON object");
  Node node;
  if (auto it = json.find("type"); it != json.end() && it->is_string()) {
    node.type = type_from_wire(it->get_ref<const std::string&>());
  }
  if (auto it = json.find("description"); it != json.end() && it->is_string()) {
    node.description = it->get<std::string>();
  }
  if (auto it = json.find("format"); it != json.end() && it->is_string()) {
    node.format = it->get<std::string>();
  }
  if (auto it = json.find("enum"); it != json.end() && it->is_array()) {
    for (const auto& value : *it) {
      node.enum_values.push_back(value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  if (auto it = json.find("default"); it != json.end()) node.default_value = *it;
  auto nullable = json.find("nullable");
  node.render_nullable = nullable != json.end() && nullable->is_boolean();
  node.nullable = !node.render_nullable || nullable->get<bool>();
  if (auto it = json.find("items"); it != json.end() && it->is_object()) {
    node.items = from_json(*it);
  }
  std::set<std::string> required;
  if (auto it = json.find("required"); it != json.end() && it->is_array()) {
    for (const auto& name : *it) {
      if (name.is_string()) required.insert(name.get<std::string>());
    }
  }
  if (auto it = json.find("properties"); it != json.end() && it->is_object()) {
    for (const auto& [name, property] : it->items()) {
      Schema child = from_json(property);
      if (required.contains(name)) {
        Node copy = *child.node_;
        copy.required = true;
        child = Schema(std::make_shared<const Node>(std::move(copy)));
      }
      node.properties.emplace_back(name, std::move(child));
    }
  }
  return Schema(std::make_shared<const Node>(std::move(node)));
}

Json Schema::to_json() const {
  if (!node_) return nullptr;
  const Node& node = *node_;
  Json json = Json::object();
  if (node.type != SchemaType::unspecified) json["type"] = to_string(node.type);
  if (!node.description.empty()) json["description"] = node.description;
  if (!node.format.empty()) json["format"] = node.format;
  if (!node.enum_values.empty()) json["enum"] = node.enum_values;
  if (!node.items.empty()) json["items"] = node.items.to_json();
  if (node.render_nullable) json["nullable"] = node.nullable;
  if (!node.properties.empty()) {
    Json properties = Json::object();
    Json required = Json::array();
    for (const auto& [name, schema] : node.properties) {
      properties[name] = schema.to_json();
      if (schema.required()) required.push_back(name);
    }
    json["properties"] = std::move(properties);
    if (!required.empty()) json["required"] = std::move(required);
  }
  return json;
}

SchemaType Schema::type() const noexcept { return node_ ? node_->type : SchemaType::unspecified; }
const std::string& Schema::description() const noexcept {
  return (node_ ? *node_ : empty_node()).description;
}
bool Schema::required() const noexcept { return node_ && node_->required; }
bool Schema::nullable() const noexcept { return !node_ || node_->nullable; }
const Json& Schema::default_value() const noexcept {
  return (node_ ? *node_ : empty_node()).default_value;
}
const std::vector<std::string>& Schema::enum_values() const noexcept {
  return (node_ ? *node_ : empty_node()).enum_values;
}
const Schema* Schema::items() const noexcept {
  return node_ && !node_->items.empty() ? &node_->items : nullptr;
}
const Schema* Schema::property(std::string_view name) const noexcept {
  if (!node_) return nullptr;
  for (const auto& [key, schema] : node_->properties) {
    if (key == name) return &schema;
  }
  return nullptr;
}
const std::vector<std::pair<std::string, Schema>>& Schema::properties() const noexcept {
  return (node_ ? *node_ : empty_node()).properties;
}

}  // namespace polaris
