// Test support: the seed's calculator tool.
#pragma once

#include "polaris/tool.hpp"

namespace polaris::test {

inline Tool calculator(std::string name = "calculator") {
  return Tool{
      .name = std::move(name),
      .description = "simple calculator",
      .parameters = Object{.description = "calc params",
                           .properties =
                               {
                                   {"operation",
                                    StringEnum{.description = "operation to perform",
                                               .values = {"add", "subtract", "multiply", "divide"},
                                               .required = true}},
                                   {"a", Float{.description = "first operand", .required = true}},
                                   {"b", Float{.description = "second operand", .required = true}},
                               }},
      .response =
          Object{.description = "result of calculation",
                 .properties = {{"result", Float{.description = "result", .required = true}}}},
      .handler = [](const Request& request) -> Result {
        const double a = request.number("a");
        const double b = request.number("b");
        const std::string op = request.string("operation");
        if (op == "add") return {{"result", a + b}};
        if (op == "subtract") return {{"result", a - b}};
        if (op == "multiply") return {{"result", a * b}};
        if (op == "divide") {
          if (b == 0) return error("divide by zero");
          return {{"result", a / b}};
        }
        return error("unknown operation: " + op);
      },
  };
}

inline Json add(double a, double b) { return {{"operation", "add"}, {"a", a}, {"b", b}}; }

}  // namespace polaris::test
