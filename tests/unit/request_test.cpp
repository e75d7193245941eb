// The handler's view of a call: typed accessors with schema defaults.
#include <gtest/gtest.h>

#include "polaris/tool.hpp"

namespace polaris {
namespace {

const Schema kSchema =
    Object{.properties = {
               {"n", Int{.default_value = 42}},
               {"x", Float{.default_value = 2.5}},
               {"s", String{.default_value = "fallback"}},
               {"b", Bool{.default_value = true}},
               {"inner", Object{.properties = {{"depth", Int{.default_value = 9}}}}},
               {"rows", ObjectArray{.properties = {{"v", Int{.default_value = -1}}}}},
           }};

TEST(Request, ReadsArgumentsOfTheRightType) {
  const Json args = {{"n", 3}, {"x", 1.25}, {"s", "hi"}, {"b", false}};
  const Request request(args, kSchema);
  EXPECT_EQ(request.integer("n"), 3);
  EXPECT_DOUBLE_EQ(request.number("x"), 1.25);
  EXPECT_EQ(request.string("s"), "hi");
  EXPECT_FALSE(request.boolean("b"));
  EXPECT_TRUE(request.has("n"));
  EXPECT_FALSE(request.has("missing"));
}

TEST(Request, MissingOrWrongTypeFallsBackToDefaultThenZero) {
  const Json args = {{"n", "three"}, {"x", nullptr}, {"s", 5}};
  const Request request(args, kSchema);
  EXPECT_EQ(request.integer("n"), 42);
  EXPECT_DOUBLE_EQ(request.number("x"), 2.5);
  EXPECT_EQ(request.string("s"), "fallback");
  EXPECT_TRUE(request.boolean("b"));
  const Request without_schema(args);
  EXPECT_EQ(without_schema.integer("n"), 0);
  EXPECT_EQ(without_schema.string("s"), "");
  EXPECT_FALSE(without_schema.boolean("b"));
}

TEST(Request, NumbersConvertLikeTheReference) {
  const Json args = {{"i", 3.0}, {"f", 3}, {"t", 3.9}};
  const Request request(args);
  EXPECT_EQ(request.integer("i"), 3);
  EXPECT_DOUBLE_EQ(request.number("f"), 3.0);
  EXPECT_EQ(request.integer("t"), 3);
}

TEST(Request, BooleansAcceptWordsAndDigits) {
  const Json args = {{"y", "yes"}, {"n", "no"},   {"t", "true"}, {"f", "false"},
                     {"one", "1"}, {"zero", "0"}, {"num", 1},    {"bad", "maybe"}};
  const Request request(args);
  EXPECT_TRUE(request.boolean("y"));
  EXPECT_FALSE(request.boolean("n"));
  EXPECT_TRUE(request.boolean("t"));
  EXPECT_FALSE(request.boolean("f"));
  EXPECT_TRUE(request.boolean("one"));
  EXPECT_FALSE(request.boolean("zero"));
  EXPECT_TRUE(request.boolean("num"));
  EXPECT_FALSE(request.boolean("bad"));
}

TEST(Request, Arrays) {
  const Json args = {
      {"ints", {1, 2.0, "x"}}, {"nums", {1.5, 2}}, {"strs", {"a", "b"}}, {"bools", {true, "no"}}};
  const Request request(args);
  EXPECT_EQ(request.integers("ints"), (std::vector<std::int64_t>{1, 2, 0}));
  EXPECT_EQ(request.numbers("nums"), (std::vector<double>{1.5, 2.0}));
  EXPECT_EQ(request.strings("strs"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(request.booleans("bools"), (std::vector<bool>{true, false}));
  EXPECT_TRUE(request.integers("missing").empty());
}

TEST(Request, NestedObjectsKeepTheirSchemaDefaults) {
  const Json args = {{"inner", Json::object()}, {"rows", {{{"v", 5}}, {{"w", 1}}, 7}}};
  const Request request(args, kSchema);
  EXPECT_EQ(request.object("inner").integer("depth"), 9);
  const Json empty = Json::object();
  EXPECT_EQ(Request(empty, kSchema).object("inner").integer("depth"), 9);
  const auto rows = request.objects("rows");
  ASSERT_EQ(rows.size(), 2U);  // the non-object element is skipped
  EXPECT_EQ(rows[0].integer("v"), 5);
  EXPECT_EQ(rows[1].integer("v"), -1);
  EXPECT_EQ(request.json(), args);
}

}  // namespace
}  // namespace polaris
