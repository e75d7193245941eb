// Built with -Wall -Wextra -Wpedantic -Werror against the installed package (g++ and clang++):
// every public header, the README's snippets (compiled, not run: they need a cluster), the
// schema API's designated initialisers and the typed API. Runs the parts that need no server.
#include <polaris/connection.hpp>
#include <polaris/describe.hpp>
#include <polaris/error.hpp>
#include <polaris/json.hpp>
#include <polaris/llm.hpp>
#include <polaris/logging.hpp>
#include <polaris/mcp.hpp>
#include <polaris/polaris.hpp>
#include <polaris/registry.hpp>
#include <polaris/schema.hpp>
#include <polaris/security.hpp>
#include <polaris/shutdown.hpp>
#include <polaris/tool.hpp>
#include <polaris/typed.hpp>
#include <polaris/version.hpp>

#include <iostream>

// ---- README, "A tool agent" (typed) ----
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

const auto calculate = [](const Calc& c) {
  if (c.operation == Op::add) return Sum{c.a + c.b};
  if (c.operation == Op::subtract) return Sum{c.a - c.b};
  if (c.operation == Op::multiply) return Sum{c.a * c.b};
  if (c.b == 0) throw polaris::error("divide by zero");
  return Sum{c.a / c.b};
};

void readme_tool_agent() {
  auto conn = polaris::connect({
      .servers = {"nats://127.0.0.1:4222", "nats://127.0.0.1:4223", "nats://127.0.0.1:4224"},
  });
  conn.register_tool("calculator", "simple calculator", calculate);
  polaris::wait_for_shutdown();
}

// ---- README, "A tool agent" (the dynamic API), without a return-type annotation ----
polaris::Tool dynamic_calculator() {
  return {
      .name = "calculator",
      .description = "simple calculator",
      .parameters =
          polaris::Object{
              .description = "calc params",
              .properties =
                  {
                      {"operation",
                       polaris::StringEnum{
                           .description = "operation to perform",
                           .values = {"add", "subtract", "multiply", "divide"},
                           .required = true,
                       }},
                      {"a", polaris::Float{.description = "first operand", .required = true}},
                      {"b", polaris::Float{.description = "second operand", .required = true}},
                  }},
      .response =
          polaris::Object{
              .description = "result of calculation",
              .properties =
                  {
                      {"result", polaris::Float{.description = "result", .required = true}},
                  }},
      .handler =
          [](const polaris::Request& req) {
            const double a = req.number("a"), b = req.number("b");
            const auto op = req.string("operation");
            if (op == "divide" && b == 0) throw polaris::error("divide by zero");
            if (op == "add") return polaris::Json{{"result", a + b}};
            throw polaris::error("unknown operation " + op);
          },
  };
}

// ---- README, "A client" ----
void readme_client() {
  auto client = polaris::connect({.servers = {"nats://127.0.0.1:4222", "nats://127.0.0.1:4223"}});
  const Sum sum = client.call<Sum>("calculator", Calc{Op::add, 1, 2});
  std::cout << "result = " << sum.result << '\n';
  auto pending = client.call_async<Sum>("calculator", Calc{Op::multiply, 6, 7});
  std::cout << pending.get().result << '\n';
  auto resp = client.call("calculator", {{"operation", "add"}, {"a", 1}, {"b", 2}});
  std::cout << "result = " << resp["result"].get<double>() << '\n';
}

// ---- README, "An LLM session" and "A registry node" ----
struct Recipe {
  std::string name;
  std::int64_t minutes;
  std::vector<std::string> ingredients;
};
POLARIS_DESCRIBE(Recipe, (name, "dish name"), (minutes, "total time"),
                 (ingredients, "what to buy"));

void readme_session_and_registry() {
  auto conn = polaris::connect({.servers = {"nats://127.0.0.1:4222"}});
  polaris::Session session(conn, {.system = "Answer briefly.", .temperature = 0.2});
  for (const auto& text : session.send("Use 35 and 21 for calculatorA.")) std::cout << text;
  const Recipe recipe = polaris::generate_json<Recipe>()("A quick pasta.");
  std::cout << recipe.name << '\n';
  auto registry = polaris::Registry::start({
      .bind = {.host = "127.0.0.1", .port = 4223},
      .cluster = {.name = "polaris-cluster",
                  .host = "127.0.0.1",
                  .port = 5223,
                  .advertise = "127.0.0.1:5223"},
      .routes = {"nats://127.0.0.1:5222"},
  });
  registry.run_until_shutdown();
}

int main() {
  const polaris::Tool typed = polaris::make_tool("calculator", "simple calculator", calculate);
  const polaris::Tool dynamic = dynamic_calculator();
  const auto declaration = [](const polaris::Tool& tool) {
    return polaris::ToolDeclaration{.name = tool.name,
                                    .description = tool.description,
                                    .parameters = tool.parameters.to_json(),
                                    .response = tool.response.to_json()}
        .to_json()
        .dump();
  };
  if (declaration(typed) != declaration(dynamic)) {
    std::cerr << "typed and hand-built declarations differ:\n"
              << declaration(typed) << '\n'
              << declaration(dynamic) << '\n';
    return 1;
  }
  const polaris::Result sum =
      typed.handler(polaris::Request({{"operation", "add"}, {"a", 1}, {"b", 2}}));
  if (sum.value() != polaris::Json({{"result", 3.0}})) return 1;
  try {
    (void)typed.handler(polaris::Request({{"operation", "divide"}, {"a", 1}, {"b", 0}}));
    return 1;
  } catch (const polaris::Error& error) {
    if (std::string(error.what()) != "divide by zero") return 1;
  }
  std::cout << "polaris " << polaris::version() << " " << declaration(typed) << '\n';
  return 0;
}
