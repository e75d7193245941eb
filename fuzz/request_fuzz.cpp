// A tool call's arguments against the tool's parameter schema: argument validation (the agent
// runs it on every call before the handler) and every polaris::Request accessor a handler may
// use, on arbitrary JSON with arbitrary schemas. Input: a schema "\n====\n" arguments.
#include "fuzz_support.hpp"
#include "polaris/error.hpp"
#include "polaris/schema.hpp"
#include "polaris/tool.hpp"
#include "schema/validate.hpp"

namespace {

using polaris::Json;
using polaris::Request;

// Reads `key` in every way a handler might, then descends into nested objects.
void read_all(const Request& request, const std::string& key, int depth) {
  (void)request.has(key);
  (void)request.integer(key);
  (void)request.number(key);
  (void)request.string(key);
  (void)request.boolean(key);
  (void)request.integers(key);
  (void)request.numbers(key);
  (void)request.strings(key);
  (void)request.booleans(key);
  if (depth > 8) return;
  const Request nested = request.object(key);
  if (nested.json().is_object()) {
    for (const auto& [name, value] : nested.json().items()) read_all(nested, name, depth + 1);
  }
  for (const Request& item : request.objects(key)) {
    for (const auto& [name, value] : item.json().items()) read_all(item, name, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = polaris::fuzz::split(polaris::fuzz::as_text(data, size));
  if (parts.size() < 2) return 0;
  const Json schema_json = Json::parse(parts[0], nullptr, false);
  const Json arguments = Json::parse(parts[1], nullptr, false);
  if (schema_json.is_discarded() || arguments.is_discarded()) return 0;
  polaris::Schema schema;
  if (schema_json.is_object()) {
    try {
      schema = polaris::Schema::from_json(schema_json);
    } catch (const polaris::Error&) {
      return 0;
    }
  }
  for (const auto& problem : polaris::detail::validate_arguments(schema, arguments)) {
    if (problem.empty()) polaris::fuzz::broken("validate_arguments gave an empty message");
  }
  const Request request(arguments, schema);
  for (const auto& [name, property] : schema.properties()) read_all(request, name, 0);
  if (arguments.is_object()) {
    for (const auto& [name, value] : arguments.items()) read_all(request, name, 0);
  }
  read_all(request, "", 0);
  return 0;
}
