// Wire schema -> JSON Schema for OpenAI, and checking JSON answers against a schema.
#include <gtest/gtest.h>

#include "llm/json_schema.hpp"
#include "polaris/llm.hpp"
#include "polaris/schema.hpp"

namespace polaris {
namespace {

const Json kCalculator =
    Json::parse(R"({"type":"OBJECT","description":"calc params","nullable":true,
  "properties":{
    "a":{"type":"NUMBER","description":"first operand","nullable":true},
    "level":{"type":"INTEGER","format":"enum","enum":["1","2"],"nullable":true},
    "operation":{"type":"STRING","format":"enum","enum":["add","subtract"],"nullable":true},
    "tags":{"type":"ARRAY","items":{"type":"STRING"}}},
  "required":["operation","a"]})");

TEST(JsonSchema, ConvertsTheWireSchemaForOpenAi) {
  const auto converted = llm::to_json_schema(kCalculator);
  const Json expected = Json::parse(R"({"type":"object","description":"calc params",
    "properties":{
      "a":{"type":"number","description":"first operand"},
      "level":{"type":"integer","enum":[1,2]},
      "operation":{"type":"string","enum":["add","subtract"]},
      "tags":{"type":"array","items":{"type":"string"}}},
    "required":["operation","a"],"additionalProperties":false})");
  EXPECT_EQ(converted.schema, expected);
  EXPECT_FALSE(converted.strict_compatible);  // not every property is required
}

TEST(SchemaCheck, AcceptsAndRejects) {
  EXPECT_EQ(
      check_against_schema(Json::parse(R"({"operation":"add","a":1,"level":2})"), kCalculator),
      std::nullopt);
  EXPECT_EQ(check_against_schema(Json::parse(R"({"a":1})"), kCalculator),
            "$: missing required property \"operation\"");
  EXPECT_EQ(check_against_schema(Json::parse(R"({"operation":"pow","a":1})"), kCalculator),
            "$.operation: \"pow\" is not one of [\"add\",\"subtract\"]");
  EXPECT_EQ(
      check_against_schema(Json::parse(R"({"operation":"add","a":1,"level":3})"), kCalculator),
      "$.level: 3 is not one of [\"1\",\"2\"]");
  EXPECT_EQ(
      check_against_schema(Json::parse(R"({"operation":"add","a":1,"tags":["x",2]})"), kCalculator),
      "$.tags[1]: integer where string is expected");
}

TEST(SchemaCheck, WorksWithTheSchemaApi) {
  const Schema schema = Object{.properties = {{"n", Int{.required = true}}}};
  EXPECT_EQ(check_against_schema(Json{{"n", 3.0}}, schema.to_json()), std::nullopt);
  EXPECT_EQ(check_against_schema(Json{{"n", 3.5}}, schema.to_json()),
            "$.n: number where integer is expected");
}

}  // namespace
}  // namespace polaris
