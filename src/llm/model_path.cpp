// llm/model_path.cpp
#include "llm/model_path.hpp"

#include "http/http_client.hpp"

namespace polaris::llm {

std::string encode_path(std::string_view path) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    out += http::url_encode(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    out += '/';
    start = slash + 1;
  }
  return out;
}

std::string model_path(std::string_view model) {
  if (model.rfind("models/", 0) == 0) return encode_path(model);
  return "models/" + encode_path(model);
}

}  // namespace polaris::llm
