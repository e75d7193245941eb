// llm/model_path.hpp - the URL path of a model name.
#pragma once

#include <string>
#include <string_view>

namespace polaris::llm {

/// "gemini-flash-latest" -> "models/gemini-flash-latest"; a name already starting with "models/"
/// is kept. Each path segment is percent-encoded ("bad model" -> "models/bad%20model").
std::string model_path(std::string_view model);

/// Percent-encodes each '/'-separated segment of `path`.
std::string encode_path(std::string_view path);

}  // namespace polaris::llm
