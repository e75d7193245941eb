// llm/base64.hpp - base64 (inline data) and base64url without padding (JWT).
#pragma once

#include <string>
#include <string_view>

namespace polaris::llm {

std::string base64_encode(std::string_view bytes);
/// RFC 4648 section 5 alphabet, no '=' padding, as JWTs use.
std::string base64url_encode(std::string_view bytes);

}  // namespace polaris::llm
