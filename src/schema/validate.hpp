// Internal: checking a call's arguments against the tool's parameter schema.
#pragma once

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

}  // namespace polaris::detail
