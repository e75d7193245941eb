// Internal: the one schema validator, for its two contracts: a call's arguments against the
// tool's parameter schema, and a model's JSON answer against a wire schema.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "polaris/json.hpp"
#include "polaris/schema.hpp"

namespace polaris::detail {

/// Checks `arguments` against `schema` (types, required properties, enums, recursively through
/// objects and arrays) with the leniency of the request accessors: an integer may arrive as 3.0,
/// a boolean as "yes"/"no"/"true"/"false"/"1"/"0" or 1/0; null counts as absent. Properties the
/// schema does not name are allowed. An empty schema accepts anything.
/// @returns one message per violation, naming the field (empty when the arguments are valid).
std::vector<std::string> validate_arguments(const Schema& schema, const Json& arguments);

/// Checks `value` against a wire schema as JSON (polaris::check_against_schema) by the same rules
/// without the leniency: JSON types as they are (a boolean is a boolean; an integer may still be
/// 3.0), null only where the schema is untyped, NULL or `nullable: true`; anything that is not a
/// schema object accepts any value. Enums compare as validate_arguments does (3.0 is "3").
/// @returns the first violation as "$.path: problem", or std::nullopt when the value matches.
std::optional<std::string> check_value(const Json& value, const Json& wire_schema);

}  // namespace polaris::detail
