// Schema rendering against hand-written golden JSON (the reference's wire format).
#include <gtest/gtest.h>

#include <set>

#include "polaris/error.hpp"
#include "polaris/schema.hpp"

namespace polaris {
namespace {

// `required` is built from a map in the reference, so its order varies: compare it as a set.
Json normalize(Json json) {
  if (json.is_object()) {
    for (auto& [key, value] : json.items()) {
      if (key == "required" && value.is_array()) {
        std::set<std::string> names(value.begin(), value.end());
        value = Json(names);
      } else {
        value = normalize(value);
      }
    }
  }
  return json;
}

void expect_renders(const Schema& schema, const char* golden) {
  EXPECT_EQ(normalize(schema.to_json()), normalize(Json::parse(golden)))
      << "rendered: " << schema.to_json().dump();
}

TEST(Schema, GoldenCalculatorParametersAndResponse) {
  const Schema parameters =
      Object{.description = "calc params",
             .properties = {
                 {"a", Float{.description = "first operand", .required = true}},
                 {"b", Float{.description = "second operand", .required = true}},
                 {"operation", StringEnum{.description = "operation to perform",
                                          .values = {"add", "subtract", "multiply", "divide"},
                                          .required = true}},
             }};
  expect_renders(parameters, R"({"type":"OBJECT","description":"calc params","nullable":true,
     "properties":{
       "a":{"type":"NUMBER","description":"first operand","nullable":true},
       "b":{"type":"NUMBER","description":"second operand","nullable":true},
       "operation":{"type":"STRING","description":"operation to perform","format":"enum",
                    "enum":["add","subtract","multiply","divide"],"nullable":true}},
     "required":["operation","a","b"]})");
  const Schema response =
      Object{.description = "result of calculation",
             .properties = {{"result", Float{.description = "result", .required = true}}}};
  expect_renders(response, R"({"type":"OBJECT","description":"result of calculation",
     "nullable":true,"properties":{"result":{"type":"NUMBER","description":"result",
     "nullable":true}},"required":["result"]})");
}

TEST(Schema, Scalars) {
  expect_renders(Int{.description = "n"},
                 R"({"type":"INTEGER","description":"n","nullable":true})");
  expect_renders(Float{}, R"({"type":"NUMBER","nullable":true})");
  expect_renders(String{.description = "s", .nullable = false},
                 R"({"type":"STRING","description":"s","nullable":false})");
  expect_renders(Bool{.description = "flag"},
                 R"({"type":"BOOLEAN","description":"flag","nullable":true})");
}

TEST(Schema, DefaultsAreNeverSent) {
  expect_renders(Int{.description = "n", .default_value = 7},
                 R"({"type":"INTEGER","description":"n","nullable":true})");
  expect_renders(String{.default_value = "x"}, R"({"type":"STRING","nullable":true})");
  expect_renders(Float{.default_value = 1.5}, R"({"type":"NUMBER","nullable":true})");
  expect_renders(Bool{.default_value = true}, R"({"type":"BOOLEAN","nullable":true})");
  EXPECT_EQ(Schema(Int{.default_value = 7}).default_value(), Json(7));
}

TEST(Schema, Enums) {
  expect_renders(IntEnum{.description = "level", .values = {1, 2, 3}},
                 R"({"type":"INTEGER","description":"level","format":"enum",
                     "enum":["1","2","3"],"nullable":true})");
  expect_renders(StringEnum{.values = {"a", "b"}},
                 R"({"type":"STRING","format":"enum","enum":["a","b"],"nullable":true})");
}

TEST(Schema, TypedArraysRenderBareItems) {
  expect_renders(IntArray{.description = "ids", .item_description = "an id"},
                 R"({"type":"ARRAY","description":"ids","nullable":true,
                     "items":{"type":"INTEGER","description":"an id"}})");
  expect_renders(FloatArray{}, R"({"type":"ARRAY","nullable":true,"items":{"type":"NUMBER"}})");
  expect_renders(StringArray{.description = "tags"},
                 R"({"type":"ARRAY","description":"tags","nullable":true,
                     "items":{"type":"STRING"}})");
  expect_renders(
      BoolArray{.item_description = "bit"},
      R"({"type":"ARRAY","nullable":true,"items":{"type":"BOOLEAN","description":"bit"}})");
}

TEST(Schema, ObjectArrayItemsCarryPropertiesAndRequired) {
  expect_renders(ObjectArray{.description = "people",
                             .item_description = "a person",
                             .properties = {{"name", String{.required = true}}, {"age", Int{}}}},
                 R"({"type":"ARRAY","description":"people","nullable":true,
          "items":{"type":"OBJECT","description":"a person",
                   "properties":{"name":{"type":"STRING","nullable":true},
                                 "age":{"type":"INTEGER","nullable":true}},
                   "required":["name"]}})");
}

TEST(Schema, ArrayOfAnySchemaAndNestedObjects) {
  expect_renders(Array{.description = "matrix", .items = IntArray{}},
                 R"({"type":"ARRAY","description":"matrix","nullable":true,
                     "items":{"type":"ARRAY","nullable":true,"items":{"type":"INTEGER"}}})");
  expect_renders(
      Object{.properties = {{"inner", Object{.properties = {{"x", Int{.required = true}}},
                                             .required = true}}}},
      R"({"type":"OBJECT","nullable":true,"required":["inner"],
          "properties":{"inner":{"type":"OBJECT","nullable":true,"required":["x"],
                                 "properties":{"x":{"type":"INTEGER","nullable":true}}}}})");
}

TEST(Schema, EmptyFieldsAreOmitted) {
  expect_renders(Object{}, R"({"type":"OBJECT","nullable":true})");
  EXPECT_TRUE(Schema().to_json().is_null());
}

TEST(Schema, DuplicatePropertyIsRefused) {
  try {
    Schema schema = Object{.properties = {{"a", Int{}}, {"a", Float{}}}};
    FAIL() << "accepted " << schema.to_json().dump();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument);
    EXPECT_STREQ(error.what(), "schema property 'a' is declared twice");
  }
}

TEST(Schema, ParsesWhatItRenders) {
  const Schema original = Object{
      .description = "d",
      .properties = {
          {"list",
           ObjectArray{.properties = {{"k", StringEnum{.values = {"x"}, .required = true}}}}},
          {"n", Int{.required = true, .nullable = false}}}};
  const Schema parsed = Schema::from_json(original.to_json());
  EXPECT_EQ(parsed.to_json(), original.to_json());
  ASSERT_NE(parsed.property("n"), nullptr);
  EXPECT_TRUE(parsed.property("n")->required());
  EXPECT_EQ(parsed.property("n")->type(), SchemaType::integer);
  EXPECT_EQ(parsed.property("list")->items()->property("k")->enum_values(),
            std::vector<std::string>{"x"});
}

TEST(Schema, FromJsonRefusesNonObjects) {
  EXPECT_THROW(Schema::from_json(Json::array()), Error);
  EXPECT_THROW(Schema::from_json("OBJECT"), Error);
}

}  // namespace
}  // namespace polaris
