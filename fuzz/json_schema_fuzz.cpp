// JSON Schema conversion both ways: MCP servers' inputSchema -> wire schema (mcp import), wire
// schema -> JSON Schema (mcp serve and OpenAI-compatible requests), and checking a model's JSON
// answer against a wire schema (generate_json). Input: a schema, optionally "\n====\n" and a value.
#include "fuzz_support.hpp"
#include "llm/json_schema.hpp"
#include "polaris/error.hpp"
#include "polaris/llm.hpp"
#include "polaris/mcp.hpp"
#include "polaris/schema.hpp"

using polaris::Json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = polaris::fuzz::split(polaris::fuzz::as_text(data, size));
  const Json schema = Json::parse(parts[0], nullptr, false);
  if (schema.is_discarded()) return 0;

  // Documented never to throw, whatever the MCP server sent.
  const Json wire = polaris::mcp::json_schema_to_wire(schema);
  if (!wire.is_object()) polaris::fuzz::broken("json_schema_to_wire gave a non-object");
  (void)wire.dump();
  // What the importer registers must be a schema every polaris peer can parse.
  (void)polaris::Schema::from_json(wire).to_json();

  const Json back = polaris::mcp::wire_to_json_schema(schema);
  if (!back.is_object() || !back.contains("type")) {
    polaris::fuzz::broken("wire_to_json_schema gave no typed object");
  }
  (void)back.dump();
  (void)polaris::mcp::wire_to_json_schema(wire).dump();

  const auto openai = polaris::llm::to_json_schema(schema);
  (void)openai.schema.dump();

  if (parts.size() > 1) {
    const Json value = Json::parse(parts[1], nullptr, false);
    if (!value.is_discarded()) (void)polaris::check_against_schema(value, schema);
  }
  return 0;
}
