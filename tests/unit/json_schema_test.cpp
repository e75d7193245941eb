// One wire schema -> JSON Schema conversion (schema/json_schema.cpp) for MCP and the LLM
// providers, and one validator (schema/validate.cpp) for call arguments and model answers: the
// cases where the two copies each used to have disagreed.
#include <gtest/gtest.h>

#include "llm/json_schema.hpp"
#include "polaris/llm.hpp"
#include "polaris/mcp.hpp"
#include "schema/validate.hpp"

namespace polaris {
namespace {

Json parse(std::string_view text) { return Json::parse(text); }

// How many `items` levels deep a schema goes.
int items_depth(const Json& schema) {
  int depth = 0;
  for (const Json* node = &schema; node->contains("items"); node = &(*node)["items"]) ++depth;
  return depth;
}

// The LLM copy had no depth limit (a deep schema could exhaust the stack); MCP's stopped at 32.
TEST(JsonSchemaConversion, OneDepthLimit) {
  Json wire = {{"type", "STRING"}};
  for (int i = 0; i < 100; ++i) wire = {{"type", "ARRAY"}, {"items", wire}};
  const Json mcp = mcp::wire_to_json_schema(wire);
  const Json llm = llm::to_json_schema(wire).schema;
  EXPECT_EQ(items_depth(mcp), 33);
  EXPECT_EQ(items_depth(llm), 33);
  EXPECT_EQ(mcp, llm);
}

// The LLM copy read "12abc" as 12 and "1.5" as 1 (std::stoll); only whole integers are numbers.
TEST(JsonSchemaConversion, IntegerEnumsOnlyFromWholeIntegers) {
  const Json wire = parse(R"({"type":"INTEGER","format":"enum","enum":["1","-2","12abc","1.5"]})");
  const Json expected = parse(R"([1,-2,"12abc","1.5"])");
  EXPECT_EQ(mcp::wire_to_json_schema(wire)["enum"], expected);
  EXPECT_EQ(llm::to_json_schema(wire).schema["enum"], expected);
}

// The LLM copy passed any type name on ("geometry"); MCP's dropped names outside the subset.
// MCP's kept format "enum" on a schema without enum values; it is no JSON Schema format.
TEST(JsonSchemaConversion, UnknownTypesAndTheEnumFormatDropped) {
  const Json wire = parse(R"({"type":"OBJECT","properties":{
      "g":{"type":"GEOMETRY","description":"a shape"},"e":{"type":"STRING","format":"enum"}}})");
  const Json mcp = mcp::wire_to_json_schema(wire);
  const Json llm = llm::to_json_schema(wire).schema;
  EXPECT_EQ(mcp["properties"]["g"], (Json{{"description", "a shape"}}));
  EXPECT_EQ(llm["properties"]["g"], (Json{{"description", "a shape"}}));
  EXPECT_EQ(mcp["properties"]["e"], (Json{{"type", "string"}}));
  EXPECT_EQ(llm["properties"]["e"], (Json{{"type", "string"}}));
}

// What differs on purpose: OpenAI gets every object closed and formats on strings only.
TEST(JsonSchemaConversion, OpenAiFitting) {
  const Json wire = parse(R"({"type":"OBJECT","properties":{
      "n":{"type":"INTEGER","format":"int64"},"t":{"type":"STRING","format":"date-time"}}})");
  const Json mcp = mcp::wire_to_json_schema(wire);
  EXPECT_EQ(mcp["properties"]["n"]["format"], "int64");
  EXPECT_FALSE(mcp.contains("additionalProperties"));
  const auto llm = llm::to_json_schema(wire);
  EXPECT_FALSE(llm.schema["properties"]["n"].contains("format"));
  EXPECT_EQ(llm.schema["properties"]["t"]["format"], "date-time");
  EXPECT_EQ(llm.schema["additionalProperties"], false);
  EXPECT_EQ(llm.schema["required"], Json::array());
  EXPECT_FALSE(llm.strict_compatible);
}

// The answer check compared 2.0 with the enum's "2" as text ("2.0") and refused what it accepts
// as an INTEGER; the argument check always took 2.0 for 2.
TEST(SchemaValidation, AnIntegralFloatMatchesItsEnumValueInBoth) {
  const Schema level = IntEnum{.values = {1, 2}, .required = true};
  EXPECT_EQ(check_against_schema(parse("2.0"), level.to_json()), std::nullopt);
  EXPECT_TRUE(detail::validate_arguments(level, parse("2.0")).empty());
  EXPECT_EQ(check_against_schema(parse("3.0"), level.to_json()),
            "$: 3.0 is not one of [\"1\",\"2\"]");
  EXPECT_EQ(detail::validate_arguments(level, parse("3.0")),
            std::vector<std::string>{"the arguments must be one of 1, 2, not 3.0"});
}

// The contracts that stay apart: arguments get the accessors' leniency, answers do not.
TEST(SchemaValidation, ArgumentsAreLenientAnswersStrict) {
  const Schema schema = Object{.properties = {{"flag", Bool{.required = true}}}};
  EXPECT_TRUE(detail::validate_arguments(schema, parse(R"({"flag":"yes"})")).empty());
  EXPECT_EQ(check_against_schema(parse(R"({"flag":"yes"})"), schema.to_json()),
            "$.flag: string where boolean is expected");
  // null: absent for arguments; for answers allowed where the schema says nullable.
  EXPECT_EQ(detail::validate_arguments(schema, parse(R"({"flag":null})")),
            std::vector<std::string>{"flag is required"});
  EXPECT_EQ(check_against_schema(parse(R"({"flag":null})"), schema.to_json()), std::nullopt);
  EXPECT_EQ(check_against_schema(parse(R"({"flag":null})"),
                                 parse(R"({"properties":{"flag":{"type":"BOOLEAN"}}})")),
            "$.flag: null where boolean is expected");
}

}  // namespace
}  // namespace polaris
