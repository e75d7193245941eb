// Internal: the representation behind polaris::Schema.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "polaris/schema.hpp"

namespace polaris {

struct Schema::Node {
  SchemaType type = SchemaType::unspecified;
  std::string description;
  std::string format;
  std::vector<std::string> enum_values;
  Schema items;
  std::vector<std::pair<std::string, Schema>> properties;
  bool required = false;
  bool nullable = true;
  /// Rendered as "nullable"; false only for the items of typed arrays, which the reference
  /// renders without it.
  bool render_nullable = true;
  Json default_value;  // never rendered
};

}  // namespace polaris
