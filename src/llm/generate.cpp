// llm/generate.cpp - the reference's Generate and GenerateJSON.
#include <memory>

#include "polaris/llm.hpp"

namespace polaris {
namespace {

// Models sometimes wrap JSON in a Markdown fence even in JSON mode; take what is inside.
std::string_view strip_fence(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (text.rfind("```", 0) != 0 || text.size() < 6 || text.substr(text.size() - 3) != "```") {
    return text;
  }
  text.remove_suffix(3);
  const auto newline = text.find('\n');
  return newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
}

}  // namespace

Session generate(SessionOptions options) { return Session(std::move(options)); }

std::function<Json(std::string_view)> generate_json(SessionOptions options) {
  options.json_output = true;
  options.stream = false;
  // Resolve once now so that missing credentials fail here, not at the first prompt.
  (void)Session(options);
  const Json schema = options.response_schema.empty() ? Json() : options.response_schema.to_json();
  auto shared = std::make_shared<const SessionOptions>(std::move(options));
  return [shared, schema](std::string_view prompt) {
    Session session(*shared);
    const std::string answer = session.ask(prompt);
    Json value = Json::parse(strip_fence(answer), nullptr, false);
    if (value.is_discarded()) {
      throw Error(Errc::protocol, "the model's answer is not JSON: " + answer.substr(0, 200));
    }
    if (!schema.is_null()) {
      if (auto problem = check_against_schema(value, schema)) {
        throw Error(Errc::protocol, "the model's answer does not match the schema: " + *problem);
      }
    }
    return value;
  };
}

}  // namespace polaris
