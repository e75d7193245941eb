#include <cctype>
#include <set>

#include "polaris/error.hpp"
#include "polaris/schema.hpp"
#include "schema/schema_node.hpp"

namespace polaris {
namespace {

using Node = Schema::Node;

// What every builder has: description, required, nullable, and for scalars a default.
template <typename Builder>
Node base(SchemaType type, const Builder& builder) {
  Node node;
  node.type = type;
  node.description = builder.description;
  node.required = builder.required;
  node.nullable = builder.nullable;
  if constexpr (requires { builder.default_value; }) {
    if (builder.default_value) node.default_value = *builder.default_value;
  }
  return node;
}

std::shared_ptr<const Node> share(Node node) {
  return std::make_shared<const Node>(std::move(node));
}

// Typed arrays render their items with only a type and a description (no nullable), which is
// exactly what parsing such a wire schema yields.
Schema typed_items(SchemaType type, const std::string& item_description) {
  Json json{{"type", to_string(type)}};
  if (!item_description.empty()) json["description"] = item_description;
  return Schema::from_json(json);
}

template <typename Builder>
Node typed_array(SchemaType item_type, const Builder& builder) {
  Node node = base(SchemaType::array, builder);
  node.items = typed_items(item_type, builder.item_description);
  return node;
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
    case SchemaType::object:
      return "OBJECT";
    case SchemaType::array:
      return "ARRAY";
    case SchemaType::string:
      return "STRING";
    case SchemaType::integer:
      return "INTEGER";
    case SchemaType::number:
      return "NUMBER";
    case SchemaType::boolean:
      return "BOOLEAN";
    case SchemaType::null:
      return "NULL";
    case SchemaType::unspecified:
      return "";
  }
  return "";
}

Schema::Schema(const Int& s) : node_(share(base(SchemaType::integer, s))) {}
Schema::Schema(const Float& s) : node_(share(base(SchemaType::number, s))) {}
Schema::Schema(const String& s) : node_(share(base(SchemaType::string, s))) {}
Schema::Schema(const Bool& s) : node_(share(base(SchemaType::boolean, s))) {}
Schema::Schema(const IntEnum& s) {
  Node node = base(SchemaType::integer, s);
  node.format = "enum";
  for (auto value : s.values) node.enum_values.push_back(std::to_string(value));
  node_ = share(std::move(node));
}
Schema::Schema(const StringEnum& s) {
  Node node = base(SchemaType::string, s);
  node.format = "enum";
  node.enum_values = s.values;
  node_ = share(std::move(node));
}
Schema::Schema(const IntArray& s) : node_(share(typed_array(SchemaType::integer, s))) {}
Schema::Schema(const FloatArray& s) : node_(share(typed_array(SchemaType::number, s))) {}
Schema::Schema(const StringArray& s) : node_(share(typed_array(SchemaType::string, s))) {}
Schema::Schema(const BoolArray& s) : node_(share(typed_array(SchemaType::boolean, s))) {}

Schema::Schema(const Object& s) {
  check_unique(s.properties);
  Node node = base(SchemaType::object, s);
  node.properties = s.properties;
  node_ = share(std::move(node));
}

Schema::Schema(const Array& s) {
  Node node = base(SchemaType::array, s);
  node.items = s.items;
  node_ = share(std::move(node));
}

Schema::Schema(const ObjectArray& s) {
  check_unique(s.properties);
  Node items;
  items.type = SchemaType::object;
  items.description = s.item_description;
  items.properties = s.properties;
  items.render_nullable = false;
  Node node = base(SchemaType::array, s);
  node.items = Schema(share(std::move(items)));
  node_ = share(std::move(node));
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
        child = Schema(share(std::move(copy)));
      }
      node.properties.emplace_back(name, std::move(child));
    }
  }
  return Schema(share(std::move(node)));
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
const std::string& Schema::description() const {
  return (node_ ? *node_ : empty_node()).description;
}
bool Schema::required() const noexcept { return node_ && node_->required; }
bool Schema::nullable() const noexcept { return !node_ || node_->nullable; }
const Json& Schema::default_value() const { return (node_ ? *node_ : empty_node()).default_value; }
const std::vector<std::string>& Schema::enum_values() const {
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
const std::vector<std::pair<std::string, Schema>>& Schema::properties() const {
  return (node_ ? *node_ : empty_node()).properties;
}

}  // namespace polaris
