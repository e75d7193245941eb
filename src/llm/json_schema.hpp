// llm/json_schema.hpp - polaris wire schemas (OpenAPI subset, upper-case types) as JSON Schema,
// which OpenAI-compatible APIs expect.
#pragma once

#include "polaris/json.hpp"

namespace polaris::llm {

struct JsonSchema {
  Json schema;
  /// Whether OpenAI's strict mode accepts it: every object lists all its properties as required.
  bool strict_compatible = true;
};

/// Converts a wire schema: lower-case types, `nullable` dropped (models fill every field), enums
/// of INTEGER as numbers, format "enum" dropped, `additionalProperties: false` on objects. Null
/// becomes an empty object schema.
JsonSchema to_json_schema(const Json& wire);

}  // namespace polaris::llm
