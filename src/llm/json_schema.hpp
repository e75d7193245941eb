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

/// Converts a wire schema (polaris::detail::wire_to_json_schema: lower-case types, `nullable`
/// dropped since models fill every field, enums of INTEGER as numbers, format "enum" dropped,
/// nesting deeper than 32 untyped) and fits it to OpenAI: `properties`, `required` and
/// `additionalProperties: false` on every object, formats on strings only. Null becomes an empty
/// schema.
JsonSchema to_json_schema(const Json& wire);

}  // namespace polaris::llm
