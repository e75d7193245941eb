// The calculator's arguments and result, described once for the tool and its clients.
#pragma once

#include <polaris/describe.hpp>

enum class Op { add, subtract, multiply, divide };
POLARIS_DESCRIBE_ENUM(Op, add, subtract, multiply, divide);

struct Calc {
  Op operation;
  double a;
  double b;
};
POLARIS_DESCRIBE_STRUCT(
    Calc, "calc params", (operation, "operation to perform"), (a, "first operand"),
    (b, "second operand")
);

struct Sum {
  double result;
};
POLARIS_DESCRIBE_STRUCT(Sum, "result of calculation", (result, "result"));
