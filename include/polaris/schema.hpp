// polaris/schema.hpp - building tool parameter and response schemas.
//
// Each builder type is a plain aggregate meant for designated initialisers:
//
//   polaris::Object{.description = "calc params", .properties = {
//       {"a", polaris::Float{.description = "first operand", .required = true}},
//       {"op", polaris::StringEnum{.values = {"add", "subtract"}, .required = true}},
//   }}
//
// Field order in every builder: description, what the type has of its own (values, items,
// properties, ...), required, nullable, default_value. `required` marks the property as required
// in the enclosing object; `nullable` is rendered on every schema (true unless set to false), as
// the reference does; defaults are never sent on the wire, the handler sees them through Request.
//
// A Schema is an immutable value: cheap to copy, safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "polaris/json.hpp"

namespace polaris {

/// The wire schema types (rendered upper-case, e.g. "OBJECT").
enum class SchemaType { unspecified, object, array, string, integer, number, boolean, null };

/// Returns the wire name of a type, e.g. "INTEGER"; "" for unspecified.
std::string_view to_string(SchemaType type) noexcept;

struct Int;
struct Float;
struct String;
struct Bool;
struct IntEnum;
struct StringEnum;
struct IntArray;
struct FloatArray;
struct StringArray;
struct BoolArray;
struct Object;
struct Array;
struct ObjectArray;

/// A rendered, immutable schema node. Built implicitly from any builder type above, or parsed from
/// wire JSON with from_json(). A default-constructed Schema is empty: "no schema".
class Schema {
 public:
  Schema() = default;
  Schema(const Int& s);          // NOLINT(google-explicit-constructor): builders convert implicitly
  Schema(const Float& s);        // NOLINT(google-explicit-constructor)
  Schema(const String& s);       // NOLINT(google-explicit-constructor)
  Schema(const Bool& s);         // NOLINT(google-explicit-constructor)
  Schema(const IntEnum& s);      // NOLINT(google-explicit-constructor)
  Schema(const StringEnum& s);   // NOLINT(google-explicit-constructor)
  Schema(const IntArray& s);     // NOLINT(google-explicit-constructor)
  Schema(const FloatArray& s);   // NOLINT(google-explicit-constructor)
  Schema(const StringArray& s);  // NOLINT(google-explicit-constructor)
  Schema(const BoolArray& s);    // NOLINT(google-explicit-constructor)
  Schema(const Object& s);       // NOLINT(google-explicit-constructor)
  Schema(const Array& s);        // NOLINT(google-explicit-constructor)
  Schema(const ObjectArray& s);  // NOLINT(google-explicit-constructor)

  /// Parses a wire schema (the Gemini/OpenAPI subset). Unknown fields are ignored.
  /// @throws Error(Errc::invalid_argument) when `json` is not a schema object.
  static Schema from_json(const Json& json);

  /// Renders the wire JSON; an empty schema renders as null.
  [[nodiscard]] Json to_json() const;

  [[nodiscard]] bool empty() const noexcept { return node_ == nullptr; }
  [[nodiscard]] SchemaType type() const noexcept;
  [[nodiscard]] const std::string& description() const;
  /// Whether the enclosing object lists this property in `required`.
  [[nodiscard]] bool required() const noexcept;
  [[nodiscard]] bool nullable() const noexcept;
  /// The default the handler sees when the argument is missing; null when there is none.
  [[nodiscard]] const Json& default_value() const;
  /// Enum values as rendered (strings), empty when not an enum.
  [[nodiscard]] const std::vector<std::string>& enum_values() const;
  /// The schema of array items; nullptr when this is not an array or has no items.
  [[nodiscard]] const Schema* items() const noexcept;
  /// The schema of an object property; nullptr when absent.
  [[nodiscard]] const Schema* property(std::string_view name) const noexcept;
  /// Object properties in declaration order.
  [[nodiscard]] const std::vector<std::pair<std::string, Schema>>& properties() const;

  struct Node;  ///< internal representation (defined in the library)

 private:
  explicit Schema(std::shared_ptr<const Node> node) : node_(std::move(node)) {}
  std::shared_ptr<const Node> node_;
};

/// Object properties, in declaration order: {{"name", polaris::String{...}}, ...}.
using Properties = std::vector<std::pair<std::string, Schema>>;

struct Int {
  std::string description{};
  bool required = false;
  bool nullable = true;
  std::optional<std::int64_t> default_value;
};

struct Float {
  std::string description{};
  bool required = false;
  bool nullable = true;
  std::optional<double> default_value{};
};

struct String {
  std::string description{};
  bool required = false;
  bool nullable = true;
  std::optional<std::string> default_value{};
};

struct Bool {
  std::string description{};
  bool required = false;
  bool nullable = true;
  std::optional<bool> default_value{};
};

/// An INTEGER restricted to `values` (sent as strings with format "enum", as Gemini expects).
struct IntEnum {
  std::string description{};
  std::vector<std::int64_t> values;
  bool required = false;
  bool nullable = true;
  std::optional<std::int64_t> default_value;
};

/// A STRING restricted to `values` (format "enum").
struct StringEnum {
  std::string description{};
  std::vector<std::string> values{};
  bool required = false;
  bool nullable = true;
  std::optional<std::string> default_value{};
};

struct IntArray {
  std::string description{};
  std::string item_description{};
  bool required = false;
  bool nullable = true;
};

struct FloatArray {
  std::string description{};
  std::string item_description{};
  bool required = false;
  bool nullable = true;
};

struct StringArray {
  std::string description{};
  std::string item_description{};
  bool required = false;
  bool nullable = true;
};

struct BoolArray {
  std::string description{};
  std::string item_description{};
  bool required = false;
  bool nullable = true;
};

struct Object {
  std::string description{};
  Properties properties{};
  bool required = false;
  bool nullable = true;
};

/// An array whose items may be any schema.
struct Array {
  std::string description{};
  Schema items{};
  bool required = false;
  bool nullable = true;
};

/// An array of objects that all have `properties`.
struct ObjectArray {
  std::string description{};
  std::string item_description{};
  Properties properties{};
  bool required = false;
  bool nullable = true;
};

}  // namespace polaris
