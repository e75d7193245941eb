// Internal: polaris wire schemas (the Gemini/OpenAPI subset, upper-case types) and JSON Schema,
// both ways. The one conversion behind MCP (mcp::wire_to_json_schema, mcp::json_schema_to_wire)
// and the LLM providers (llm::to_json_schema), so that they agree on every schema.
#pragma once

#include "polaris/json.hpp"

namespace polaris::detail {

/// The deepest nesting (or chain of `$ref`s) either conversion follows: deeper nodes become
/// untyped schemas (any value) rather than exhausting the stack.
inline constexpr int kMaxSchemaDepth = 32;

/// Wire schema -> JSON Schema: lower-case types (names outside the subset dropped), non-empty
/// descriptions, `properties`, non-empty `required`, object `items`, enums (those of INTEGER as
/// numbers where a value is a whole integer), `format` where there is no enum (never "enum"
/// itself); `nullable` is dropped. A non-object gives an empty schema. Never throws.
Json wire_to_json_schema(const Json& wire);

/// JSON Schema -> wire schema, as docs/PROTOCOL.md ("Declarations of imported tools") describes:
/// local `$ref`s resolved, anyOf/oneOf/allOf folded, enums and consts as string enums. Whatever
/// cannot be understood becomes an untyped schema. Never throws.
Json json_schema_to_wire(const Json& json_schema);

}  // namespace polaris::detail
