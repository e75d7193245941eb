// Wire schemas as tools declare them: Schema::from_json (what a Connection and `polaris chat`
// parse from the catalogue) and Schema::to_json (what goes back on the wire and to the models).
#include "fuzz_support.hpp"
#include "polaris/error.hpp"
#include "polaris/schema.hpp"

namespace {

using polaris::Json;
using polaris::Schema;

// Walks the parsed schema through its accessors, as renderers and the request accessors do.
void walk(const Schema& schema, int depth) {
  if (depth > 64) return;
  (void)schema.type();
  (void)polaris::to_string(schema.type());
  (void)schema.description();
  (void)schema.required();
  (void)schema.nullable();
  (void)schema.default_value().dump();
  (void)schema.enum_values();
  if (const Schema* items = schema.items()) walk(*items, depth + 1);
  for (const auto& [name, property] : schema.properties()) {
    if (schema.property(name) == nullptr) polaris::fuzz::broken("property() misses a property");
    walk(property, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Json json = Json::parse(polaris::fuzz::as_text(data, size), nullptr, false);
  if (json.is_discarded()) return 0;
  try {
    const Schema schema = Schema::from_json(json);
    walk(schema, 0);
    const Json rendered = schema.to_json();
    (void)rendered.dump();
    // Rendering is a fixed point: a rendered schema parses and renders to itself.
    if (Schema::from_json(rendered).to_json() != rendered) {
      polaris::fuzz::broken("Schema to_json/from_json round trip");
    }
  } catch (const polaris::Error&) {  // not a schema object: documented
  }
  return 0;
}
