// llm/json_fields.hpp - reading fields of a model API's answer without trusting its shapes.
//
// Internal. nlohmann's value()/get() throw type_error when a field has another type, and casting a
// huge float to an integer is undefined: a model server (or a proxy) that sends odd JSON must get
// the answer read as "field absent", never an exception other than polaris::Error.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "polaris/json.hpp"

namespace polaris::llm {

/// The field `key` of `json`; null when absent or `json` is not an object.
inline const Json& field(const Json& json, const char* key) {
  static const Json none;  // immutable
  if (!json.is_object()) return none;
  const auto it = json.find(key);
  return it != json.end() ? *it : none;
}

/// A string field; "" when absent or not a string.
inline std::string string_field(const Json& json, const char* key) {
  const Json& value = field(json, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

/// A token count; 0 unless a non-negative number. Bounded (2^40), so that sums cannot overflow and
/// a float is never cast beyond the integers.
inline std::int64_t token_count(const Json& usage, const char* key) {
  constexpr std::int64_t kMax = std::int64_t{1} << 40;
  const Json& value = field(usage, key);
  if (value.is_number_unsigned()) {
    return static_cast<std::int64_t>(std::min<std::uint64_t>(value.get<std::uint64_t>(), kMax));
  }
  if (value.is_number_integer())
    return std::clamp<std::int64_t>(value.get<std::int64_t>(), 0, kMax);
  if (value.is_number_float()) {
    const double count = value.get<double>();
    return count >= 0 && count <= static_cast<double>(kMax) ? static_cast<std::int64_t>(count) : 0;
  }
  return 0;
}

}  // namespace polaris::llm
