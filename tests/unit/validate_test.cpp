// Arguments are checked against the parameter schema before the handler runs.
#include <gtest/gtest.h>

#include "schema/validate.hpp"

namespace polaris::detail {
namespace {

using Problems = std::vector<std::string>;

const Schema kSchema =
    Object{.properties = {
               {"op", StringEnum{.values = {"add", "sub"}, .required = true}},
               {"n", Int{.required = true}},
               {"x", Float{}},
               {"flag", Bool{}},
               {"level", IntEnum{.values = {1, 2, 3}}},
               {"tags", StringArray{}},
               {"point", Object{.properties = {{"lat", Float{.required = true}}}}},
               {"rows", ObjectArray{.properties = {{"id", Int{.required = true}}}}},
           }};

TEST(Validate, AcceptsWhatTheAccessorsAccept) {
  EXPECT_EQ(validate_arguments(kSchema, {{"op", "add"}, {"n", 3}}), Problems{});
  EXPECT_EQ(validate_arguments(kSchema, {{"op", "sub"},
                                         {"n", 3.0},
                                         {"x", 1},
                                         {"flag", "yes"},
                                         {"level", 2.0},
                                         {"tags", {"a"}},
                                         {"point", {{"lat", 1.5}}},
                                         {"rows", {{{"id", 1}}}},
                                         {"unknown", "ignored"},
                                         {"level_missing_is_fine", nullptr}}),
            Problems{});
  EXPECT_EQ(validate_arguments(kSchema, {{"op", "add"}, {"n", 1}, {"flag", 0}, {"x", nullptr}}),
            Problems{});
  EXPECT_EQ(validate_arguments(Schema{}, Json::object()), Problems{});
}

TEST(Validate, NamesEachViolation) {
  EXPECT_EQ(validate_arguments(kSchema, Json::object()),
            (Problems{"op is required", "n is required"}));
  EXPECT_EQ(validate_arguments(kSchema, {{"op", "pow"}, {"n", 3.5}}),
            (Problems{"op must be one of add, sub, not the string \"pow\"",
                      "n must be an integer, not 3.5"}));
  EXPECT_EQ(
      validate_arguments(kSchema, {{"op", "add"},
                                   {"n", "3"},
                                   {"flag", "maybe"},
                                   {"level", 7},
                                   {"tags", {"a", 2}},
                                   {"point", {{"lat", "north"}}},
                                   {"rows", {{{"id", 1}}, {{"name", "x"}}}}}),
      (Problems{"n must be an integer, not the string \"3\"",
                "flag must be a boolean, not the string \"maybe\"",
                "level must be one of 1, 2, 3, not 7", "tags[1] must be a string, not 2",
                "point.lat must be a number, not the string \"north\"", "rows[1].id is required"}));
}

}  // namespace
}  // namespace polaris::detail
