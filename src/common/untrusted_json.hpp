// Internal: parsing JSON that a peer, an MCP server or a model API sent.
#pragma once

#include <string_view>

#include "polaris/json.hpp"

namespace polaris::detail {

/// The deepest nesting accepted from outside. Real messages nest a dozen levels; nlohmann copies,
/// compares and serialises values recursively, so a 1 MB "[[[[..." would overflow the stack.
inline constexpr int kMaxJsonDepth = 256;

/// Whether arrays and objects in `text` nest deeper than `max_depth` (strings skipped).
inline bool nests_deeper_than(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

/// Json::parse without exceptions: a discarded value when `text` is not JSON or nests deeper than
/// kMaxJsonDepth.
inline Json parse_untrusted_json(std::string_view text) {
  if (nests_deeper_than(text, kMaxJsonDepth)) return Json(Json::value_t::discarded);
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace polaris::detail
