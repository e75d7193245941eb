// Internal: reading fields of a peer's JSON message without trusting its shapes.
//
// The one place where wire messages are read leniently: nlohmann's value()/get() throw type_error
// when a field has another type, and a peer (another agent, a registry node, a reference peer)
// that sends odd JSON must get the field read as absent, never an exception other than
// polaris::Error. Every from_json of protocol/messages.hpp reads through these.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/untrusted_json.hpp"
#include "polaris/json.hpp"

namespace polaris::wire {

/// The field `key` of `json`; null when absent or `json` is not an object.
inline const Json& field(const Json& json, std::string_view key) {
  static const Json none;  // immutable
  if (!json.is_object()) return none;
  const auto it = json.find(key);
  return it != json.end() ? *it : none;
}

/// A string field; nullopt when absent or not a string.
inline std::optional<std::string> string_field(const Json& json, std::string_view key) {
  const Json& value = field(json, key);
  if (!value.is_string()) return std::nullopt;
  return value.get<std::string>();
}

/// A string field, or `fallback` when absent or not a string.
inline std::string string_or(const Json& json, std::string_view key, std::string_view fallback) {
  const Json& value = field(json, key);
  return value.is_string() ? value.get<std::string>() : std::string(fallback);
}

/// A boolean field; nullopt when absent or not a boolean.
inline std::optional<bool> bool_field(const Json& json, std::string_view key) {
  const Json& value = field(json, key);
  if (!value.is_boolean()) return std::nullopt;
  return value.get<bool>();
}

/// A message body as JSON: discarded when it is not JSON or nests too deep.
inline Json parse_body(std::string_view body) { return detail::parse_untrusted_json(body); }

}  // namespace polaris::wire
