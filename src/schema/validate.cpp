// schema/validate.cpp - one validator for two contracts: a call's arguments against a tool's
// parameter schema (lenient as the Request accessors are, every violation), and a model's JSON
// answer against a wire schema (strict JSON types, the first violation).
#include "schema/validate.hpp"

#include <algorithm>
#include <cmath>

namespace polaris::detail {
namespace {

// ---- the two kinds of schema the validator reads ----

// A parsed Schema (the tool's parameters).
class TypedNode {
 public:
  explicit TypedNode(const Schema& schema) : schema_(schema) {}
  [[nodiscard]] SchemaType type() const { return schema_.type(); }
  [[nodiscard]] bool nullable() const { return schema_.nullable(); }
  [[nodiscard]] std::vector<std::string> enum_values() const { return schema_.enum_values(); }
  [[nodiscard]] bool has_enum() const { return !schema_.enum_values().empty(); }
  [[nodiscard]] bool enum_allows(const std::string& key) const {
    const auto& values = schema_.enum_values();
    return std::find(values.begin(), values.end(), key) != values.end();
  }
  // f(name, schema, required) for each property, in declaration order.
  template <typename F>
  void for_each_property(F f) const {
    for (const auto& [name, property] : schema_.properties()) {
      f(name, TypedNode(property), property.required());
    }
  }
  // Required names that are no property: a parsed Schema has none.
  template <typename F>
  void for_each_required_elsewhere(F /*f*/) const {}
  template <typename F>
  void with_items(F f) const {
    if (schema_.items() != nullptr) f(TypedNode(*schema_.items()));
  }

 private:
  const Schema& schema_;
};

// A wire schema as JSON, which may be anything: what is not a schema object accepts any value.
class WireNode {
 public:
  explicit WireNode(const Json& json) : json_(json) {}
  [[nodiscard]] SchemaType type() const {
    const auto it = json_.find("type");
    if (!json_.is_object() || it == json_.end() || !it->is_string()) return SchemaType::unspecified;
    std::string name = it->get<std::string>();
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (auto type :
         {SchemaType::object, SchemaType::array, SchemaType::string, SchemaType::integer,
          SchemaType::number, SchemaType::boolean, SchemaType::null}) {
      if (to_string(type) == name) return type;
    }
    return SchemaType::unspecified;
  }
  // Only an explicit `nullable: true` (a wire schema without it is not nullable).
  [[nodiscard]] bool nullable() const {
    const auto it = json_.find("nullable");
    return json_.is_object() && it != json_.end() && it->is_boolean() && it->get<bool>();
  }
  [[nodiscard]] std::vector<std::string> enum_values() const {
    std::vector<std::string> values;
    if (const Json* e = member("enum"); e != nullptr && e->is_array()) {
      for (const auto& value : *e) {
        values.push_back(value.is_string() ? value.get<std::string>() : value.dump());
      }
    }
    return values;
  }
  [[nodiscard]] bool has_enum() const {
    const Json* e = member("enum");
    return e != nullptr && e->is_array() && !e->empty();
  }
  [[nodiscard]] bool enum_allows(const std::string& key) const {
    const Json* e = member("enum");
    return std::any_of(e->begin(), e->end(), [&](const Json& allowed) {
      return allowed.is_string() ? allowed.get_ref<const std::string&>() == key
                                 : allowed.dump() == key;
    });
  }
  template <typename F>
  void for_each_property(F f) const {
    if (const Json* p = member("properties"); p != nullptr && p->is_object()) {
      for (const auto& [name, sub] : p->items()) f(name, WireNode(sub), required(name));
    }
  }
  template <typename F>
  void for_each_required_elsewhere(F f) const {
    const Json* r = member("required");
    if (r == nullptr || !r->is_array()) return;
    const Json* p = member("properties");
    for (const auto& name : *r) {
      if (name.is_string() && (p == nullptr || !p->is_object() || !p->contains(name))) {
        f(name.get<std::string>());
      }
    }
  }
  template <typename F>
  void with_items(F f) const {
    if (const Json* items = member("items"); items != nullptr) f(WireNode(*items));
  }

 private:
  [[nodiscard]] bool required(const std::string& name) const {
    const Json* r = member("required");
    return r != nullptr && r->is_array() && std::find(r->begin(), r->end(), name) != r->end();
  }
  [[nodiscard]] const Json* member(const char* key) const {
    if (!json_.is_object()) return nullptr;
    const auto it = json_.find(key);
    return it == json_.end() ? nullptr : &*it;
  }
  const Json& json_;
};

// ---- the walk ----

struct Policy {
  /// The Request accessors' leniency: booleans as "yes"/"no"/"true"/"false"/"1"/"0" or 1/0, null
  /// counts as absent (a null array item is skipped), a NULL or untyped schema takes anything.
  /// Without it: JSON types as they are; null only where the schema is untyped, NULL or
  /// explicitly nullable.
  bool accessors = true;
};

enum class Problem { type, missing, not_in_enum };

struct Violation {
  Problem problem;
  std::string path;                               ///< "" for the root, "a.b", "a[2]", "[0].x"
  Json value;                                     ///< type, not_in_enum: the value
  SchemaType expected = SchemaType::unspecified;  ///< type
  std::vector<std::string> allowed;               ///< not_in_enum
  std::string property;                           ///< missing: its name
};

bool is_integral(const Json& value) {
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  const double number = value.get<double>();
  return std::isfinite(number) && number == std::trunc(number);
}

bool is_boolean_like(const Json& value) {
  if (value.is_boolean()) return true;
  if (value.is_number()) return value == 0 || value == 1;
  if (!value.is_string()) return false;
  static constexpr std::string_view kWords[] = {"yes", "no", "true", "false", "1", "0"};
  const auto& text = value.get_ref<const std::string&>();
  return std::find(std::begin(kWords), std::end(kWords), text) != std::end(kWords);
}

bool matches_type(const Json& value, SchemaType type, const Policy& policy) {
  switch (type) {
    case SchemaType::integer:
      return is_integral(value);
    case SchemaType::number:
      return value.is_number();
    case SchemaType::string:
      return value.is_string();
    case SchemaType::boolean:
      return policy.accessors ? is_boolean_like(value) : value.is_boolean();
    case SchemaType::array:
      return value.is_array();
    case SchemaType::object:
      return value.is_object();
    case SchemaType::null:
      return policy.accessors || value.is_null();
    case SchemaType::unspecified:
      return true;
  }
  return true;
}

// The enum value an argument stands for, as the schema lists it (strings).
std::string enum_key(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
  // 3.0 stands for 3; a float beyond the integers cannot be cast (undefined) nor match an enum.
  if (is_integral(value) && std::fabs(value.get<double>()) < 9.2e18) {
    return std::to_string(static_cast<std::int64_t>(value.get<double>()));
  }
  return value.dump();
}

std::string child_path(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

// Whether a property counts as absent.
bool absent(const Json& object, const std::string& name, const Policy& policy) {
  const auto it = object.find(name);
  return it == object.end() || (policy.accessors && it->is_null());
}

template <typename Node>
void walk(const Node& schema, const Json& value, const std::string& path, const Policy& policy,
          std::vector<Violation>& out);

template <typename Node>
void walk_object(const Node& schema, const Json& value, const std::string& path,
                 const Policy& policy, std::vector<Violation>& out) {
  const auto missing = [&](const std::string& name) {
    out.push_back({.problem = Problem::missing, .path = path, .property = name});
  };
  schema.for_each_property([&](const std::string& name, const auto& property, bool required) {
    if (absent(value, name, policy)) {
      if (required) missing(name);
    } else {
      walk(property, *value.find(name), child_path(path, name), policy, out);
    }
  });
  schema.for_each_required_elsewhere([&](const std::string& name) {
    if (absent(value, name, policy)) missing(name);
  });
}

template <typename Node>
void walk_array(const Node& schema, const Json& value, const std::string& path,
                const Policy& policy, std::vector<Violation>& out) {
  schema.with_items([&](const auto& items) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (policy.accessors && value[i].is_null()) continue;
      walk(items, value[i], path + "[" + std::to_string(i) + "]", policy, out);
    }
  });
}

template <typename Node>
void walk(const Node& schema, const Json& value, const std::string& path, const Policy& policy,
          std::vector<Violation>& out) {
  const SchemaType type = schema.type();
  if (!policy.accessors && value.is_null()) {
    if (type != SchemaType::unspecified && type != SchemaType::null && !schema.nullable()) {
      out.push_back({.problem = Problem::type, .path = path, .value = value, .expected = type});
    }
    return;
  }
  if (!matches_type(value, type, policy)) {
    out.push_back({.problem = Problem::type, .path = path, .value = value, .expected = type});
    return;
  }
  if (schema.has_enum() && !schema.enum_allows(enum_key(value))) {
    out.push_back({.problem = Problem::not_in_enum,
                   .path = path,
                   .value = value,
                   .allowed = schema.enum_values()});
  }
  if (value.is_object() && (type == SchemaType::object || !policy.accessors)) {
    walk_object(schema, value, path, policy, out);
  }
  if (value.is_array() && (type == SchemaType::array || !policy.accessors)) {
    walk_array(schema, value, path, policy, out);
  }
}

// ---- the two contracts' messages ----

std::string describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::string:
      return "the string " + value.dump();
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::null:
      return "null";
    default:
      return value.dump();
  }
}

const char* with_article(SchemaType type) {
  switch (type) {
    case SchemaType::integer:
      return "an integer";
    case SchemaType::number:
      return "a number";
    case SchemaType::string:
      return "a string";
    case SchemaType::boolean:
      return "a boolean";
    case SchemaType::array:
      return "an array";
    case SchemaType::object:
      return "an object";
    case SchemaType::null:
      return "null";
    case SchemaType::unspecified:
      break;
  }
  return "anything";
}

std::string joined(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& value : values) text += (text.empty() ? "" : ", ") + value;
  return text;
}

// "n must be an integer, not 3.5", "op is required".
std::string argument_message(const Violation& v) {
  const std::string path = v.path.empty() ? "the arguments" : v.path;
  switch (v.problem) {
    case Problem::type:
      return path + " must be " + with_article(v.expected) + ", not " + describe(v.value);
    case Problem::not_in_enum:
      return path + " must be one of " + joined(v.allowed) + ", not " + describe(v.value);
    case Problem::missing:
      break;
  }
  return child_path(v.path, v.property) + " is required";
}

const char* json_type_name(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

std::string lower_name(SchemaType type) {
  std::string name(to_string(type));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// "$.tags[1]: integer where string is expected".
std::string answer_message(const Violation& v) {
  const std::string path = "$" + (v.path.empty() || v.path.front() == '[' ? v.path : "." + v.path);
  switch (v.problem) {
    case Problem::type:
      return path + ": " + json_type_name(v.value) + " where " + lower_name(v.expected) +
             " is expected";
    case Problem::not_in_enum:
      return path + ": " + v.value.dump() + " is not one of " + Json(v.allowed).dump();
    case Problem::missing:
      break;
  }
  return path + ": missing required property \"" + v.property + "\"";
}

}  // namespace

std::vector<std::string> validate_arguments(const Schema& schema, const Json& arguments) {
  std::vector<std::string> problems;
  if (schema.empty()) return problems;
  std::vector<Violation> violations;
  walk(TypedNode(schema), arguments, "", Policy{.accessors = true}, violations);
  for (const auto& violation : violations) problems.push_back(argument_message(violation));
  return problems;
}

std::optional<std::string> check_value(const Json& value, const Json& wire_schema) {
  std::vector<Violation> violations;
  walk(WireNode(wire_schema), value, "", Policy{.accessors = false}, violations);
  if (violations.empty()) return std::nullopt;
  return answer_message(violations.front());
}

}  // namespace polaris::detail
