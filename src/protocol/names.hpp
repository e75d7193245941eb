// Internal: the characters of names that become (parts of) NATS subjects and MCP tool names.
//
// One definition for tool names (schema/tool.cpp, mcp/convert.cpp), user names that are one
// subject token (transport/nats_options.cpp, security/config.cpp) and agent ids (wire.hpp).
#pragma once

#include <algorithm>
#include <string_view>

namespace polaris::names {

/// A-Z or a-z (not std::isalpha: that depends on the locale).
constexpr bool is_letter(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/// [A-Za-z0-9_-]: what a tool name is made of, and a user name that is one subject token.
constexpr bool is_name_char(char c) noexcept {
  return is_letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/// What a tool name may start with: a letter or '_'.
constexpr bool is_name_start(char c) noexcept { return is_letter(c) || c == '_'; }

/// Non-empty and only [A-Za-z0-9_-]: one subject token without dots, wildcards or white space.
constexpr bool is_name_token(std::string_view text) noexcept {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_name_char);
}

/// A tool name: 1 to 64 of [A-Za-z0-9_-], starting with a letter or '_' (the names every LLM
/// API accepts as function names).
inline constexpr std::size_t kMaxToolName = 64;
constexpr bool is_tool_name(std::string_view name) noexcept {
  return is_name_token(name) && name.size() <= kMaxToolName && is_name_start(name.front());
}

}  // namespace polaris::names
