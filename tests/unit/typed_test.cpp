// Typed tools (describe.hpp, typed.hpp): schemas identical to hand-built ones, parsing with the
// validation's leniency, defaults, errors naming the member, handlers without annotations.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "polaris/describe.hpp"
#include "polaris/error.hpp"
#include "polaris/typed.hpp"
#include "schema/validate.hpp"
#include "support/calculator.hpp"

namespace typed_test {

enum class Op { add, subtract, multiply, divide };
POLARIS_DESCRIBE_ENUM(Op, add, subtract, multiply, divide);

struct Calc {
  Op operation;
  double a;
  double b;
};
POLARIS_DESCRIBE_STRUCT(Calc, "calc params", (operation, "operation to perform"),
                        (a, "first operand"), (b, "second operand"));

struct Sum {
  double result;
};
POLARIS_DESCRIBE_STRUCT(Sum, "result of calculation", (result, "result"));

enum class Level { low, high };
POLARIS_DESCRIBE_ENUM(Level, (low, "cheap"), high);

struct Line {
  std::string sku;
  int quantity = 1;
};
POLARIS_DESCRIBE_STRUCT(Line, "an order line", (sku, "article"), (quantity, "how many"));

struct Order {
  std::vector<Line> lines;
  std::optional<std::string> note;
  bool rush = false;
  std::string unit = "piece";
  Level level = Level::high;
  std::int64_t id;
  std::vector<std::string> tags;
  std::vector<Level> levels;
  std::optional<Line> gift;
  Line main;
};
POLARIS_DESCRIBE(Order, (lines, "order lines"), (note, "free text"),
                 (rush, "ship first", polaris::not_required), (unit, "unit"),
                 (level, "service level"), (id, "order id"), (tags, "labels"), (levels, "history"),
                 (gift, "a gift line"), (main, ""));

Sum calculate(const Calc& c) {
  switch (c.operation) {
    case Op::add:
      return {c.a + c.b};
    case Op::subtract:
      return {c.a - c.b};
    case Op::multiply:
      return {c.a * c.b};
    case Op::divide:
      break;
  }
  if (c.b == 0) throw polaris::error("divide by zero");
  return {c.a / c.b};
}

polaris::Json declaration(const polaris::Tool& tool) {
  return polaris::ToolDeclaration{.name = tool.name,
                                  .description = tool.description,
                                  .parameters = tool.parameters.to_json(),
                                  .response = tool.response.to_json()}
      .to_json();
}

TEST(Typed, CalculatorDeclarationIsByteIdenticalToTheHandBuiltOne) {
  const polaris::Tool typed = polaris::make_tool("calculator", "simple calculator", calculate);
  const polaris::Tool by_hand = polaris::test::calculator("calculator");
  EXPECT_EQ(declaration(typed).dump(), declaration(by_hand).dump());
}

TEST(Typed, SchemaOfNestedOptionalVectorsAndDefaults) {
  using namespace polaris;
  const Schema by_hand = Object{
      .properties = {
          {"lines",
           ObjectArray{
               .description = "order lines",
               .item_description = "an order line",
               .properties = {{"sku", String{.description = "article", .required = true}},
                              {"quantity", Int{.description = "how many", .default_value = 1}}},
               .required = true}},
          {"note", String{.description = "free text"}},
          {"rush", Bool{.description = "ship first"}},
          {"unit", String{.description = "unit", .default_value = "piece"}},
          {"level", StringEnum{.description = "service level (low: cheap)",
                               .values = {"low", "high"},
                               .default_value = "high"}},
          {"id", Int{.description = "order id", .required = true}},
          {"tags", StringArray{.description = "labels", .required = true}},
          {"levels",
           Array{.description = "history",
                 .items = StringEnum{.description = "low: cheap", .values = {"low", "high"}},
                 .required = true}},
          {"gift",
           Object{.description = "a gift line",
                  .properties = {{"sku", String{.description = "article", .required = true}},
                                 {"quantity",
                                  Int{.description = "how many", .default_value = 1}}}}},
          {"main",
           Object{.description = "an order line",
                  .properties = {{"sku", String{.description = "article", .required = true}},
                                 {"quantity", Int{.description = "how many", .default_value = 1}}},
                  .required = true}},
      }};
  EXPECT_EQ(schema_of<Order>().to_json().dump(), by_hand.to_json().dump());
  // Defaults reach the schema (the handler's Request sees them), though never the wire.
  EXPECT_EQ(schema_of<Order>().property("unit")->default_value(), Json("piece"));
  EXPECT_EQ(schema_of<Order>().property("level")->default_value(), Json("high"));
}

TEST(Typed, ParsesWithDefaultsAndRoundTrips) {
  const auto order = polaris::from_json<Order>(polaris::Json::parse(R"({
      "lines": [{"sku": "a"}, {"sku": "b", "quantity": 3.0}], "note": null, "id": 7,
      "tags": [], "levels": ["low"], "main": {"sku": "m"}, "rush": "yes"})"));
  ASSERT_EQ(order.lines.size(), 2U);
  EXPECT_EQ(order.lines[0].quantity, 1);
  EXPECT_EQ(order.lines[1].quantity, 3);
  EXPECT_FALSE(order.note.has_value());
  EXPECT_TRUE(order.rush);
  EXPECT_EQ(order.unit, "piece");
  EXPECT_EQ(order.level, Level::high);
  EXPECT_EQ(order.id, 7);
  EXPECT_EQ(order.levels, std::vector<Level>{Level::low});
  EXPECT_FALSE(order.gift.has_value());
  const polaris::Json json = polaris::to_json(order);
  EXPECT_FALSE(json.contains("note"));  // nullopt is left out
  EXPECT_EQ(json["level"], "high");
  EXPECT_EQ(json["lines"][1], polaris::Json({{"sku", "b"}, {"quantity", 3}}));
  EXPECT_EQ(polaris::to_json(polaris::from_json<Order>(json)), json);
}

void expect_rejected(const char* arguments, const std::string& message) {
  try {
    (void)polaris::from_json<Order>(polaris::Json::parse(arguments));
    ADD_FAILURE() << "accepted " << arguments;
  } catch (const polaris::Error& error) {
    EXPECT_EQ(error.code(), polaris::Errc::invalid_argument);
    EXPECT_EQ(error.what(), message);
  }
}

TEST(Typed, BadArgumentsNameTheMember) {
  const std::string ok_rest = R"("id": 1, "tags": [], "levels": [], "main": {"sku": "m"})";
  expect_rejected(R"({"id": 1})", "lines: required");
  expect_rejected(("{\"lines\": [{\"quantity\": 2}], " + ok_rest + "}").c_str(),
                  "lines[0].sku: required");
  expect_rejected(("{\"lines\": [], \"level\": \"mid\", " + ok_rest + "}").c_str(),
                  "level: expected one of low, high, got \"mid\"");
  expect_rejected(R"({"lines": [], "id": 1.5, "tags": [], "levels": [], "main": {"sku": "m"}})",
                  "id: expected an integer in range, got 1.5");
  expect_rejected(R"({"lines": {}, "id": 1})", "lines: expected an array, got {}");
  expect_rejected("[]", "arguments: expected an object, got []");
  // The library's validation and the typed parser agree on what is missing.
  EXPECT_FALSE(polaris::detail::validate_arguments(polaris::schema_of<Order>(),
                                                   polaris::Json::parse(R"({"id": 1})"))
                   .empty());
}

TEST(Typed, HandlersNeedNoAnnotationAndFailByThrowingOrReturning) {
  const polaris::Tool tool = polaris::make_tool("calculator", "simple calculator", calculate);
  const auto run = [&](const polaris::Json& arguments) {
    try {
      return tool.handler(polaris::Request(arguments));
    } catch (const std::exception& error) {  // run_tool turns this into the `_error` reply
      return polaris::Result(polaris::error(error.what()));
    }
  };
  EXPECT_EQ(run({{"operation", "multiply"}, {"a", 6}, {"b", 7}}).value(),
            polaris::Json({{"result", 42.0}}));
  EXPECT_EQ(run({{"operation", "divide"}, {"a", 1}, {"b", 0}}).error_message(), "divide by zero");
  EXPECT_EQ(run({{"operation", "divide"}, {"a", 1}}).error_message(), "b: required");

  // Untyped handlers without `-> polaris::Result`: a Json on success, a thrown error otherwise.
  const polaris::Tool dynamic{.name = "half", .handler = [](const polaris::Request& request) {
                                if (request.number("x") < 0) throw polaris::error("negative");
                                return polaris::Json{{"half", request.number("x") / 2}};
                              }};
  EXPECT_EQ(dynamic.handler(polaris::Request(polaris::Json{{"x", 3}})).value(),
            polaris::Json({{"half", 1.5}}));
  EXPECT_THROW(dynamic.handler(polaris::Request(polaris::Json{{"x", -1}})), polaris::ToolFailure);
  // Returning polaris::error(...) still works where the lambda says it returns a Result.
  const polaris::Result failed = polaris::error("bad mode");
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.error_message(), "bad mode");
}

TEST(Typed, HandlerShapes) {
  const auto none = polaris::make_tool("now", "no arguments", [] { return Sum{1}; });
  EXPECT_EQ(none.parameters.to_json(), polaris::Schema(polaris::Object{}).to_json());
  EXPECT_EQ(none.handler(polaris::Request(polaris::Json::object())).value(),
            polaris::Json({{"result", 1.0}}));
  const auto with_request =
      polaris::make_tool("ctx", "request too", [](const Calc& c, const polaris::Request& request) {
        return polaris::Json{{"a", c.a}, {"has_deadline", request.remaining().has_value()}};
      });
  EXPECT_TRUE(with_request.response.empty());  // a Json reply declares no response schema
  EXPECT_EQ(
      with_request.handler(polaris::Request({{"operation", "add"}, {"a", 2}, {"b", 0}})).value(),
      polaris::Json({{"a", 2.0}, {"has_deadline", false}}));
  const auto nothing = polaris::make_tool("noop", "void", [](const Calc&) {});
  EXPECT_EQ(nothing.handler(polaris::Request({{"operation", "add"}, {"a", 2}, {"b", 0}})).value(),
            polaris::Json::object());
}

}  // namespace typed_test
