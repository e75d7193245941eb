// polaris/json.hpp - the JSON value type used throughout the public API.
#pragma once

#include <nlohmann/json.hpp>

namespace polaris {

/// JSON values are plain nlohmann::json, so users reuse what they already know.
using Json = nlohmann::json;

}  // namespace polaris
