// json-schema: typed JSON answers (generate_json<T>: the schema comes from the struct), and a
// plain generate whose prompt asks for JSON.
#include <iostream>
#include <polaris/llm.hpp>
#include <polaris/polaris.hpp>

#include "example_main.hpp"

struct Recipe {
  std::string name;
  std::int64_t minutes;
  std::vector<std::string> ingredients;
};
POLARIS_DESCRIBE(
    Recipe, (name, "dish name"), (minutes, "total time"), (ingredients, "ingredients")
);

int main(int argc, char** argv) try {
  if (example::handled_help(
          argc, argv,
          "usage: json-schema   (generate_json with an output schema, and "
          "generate with a JSON-shaped prompt)"
      ))
    return 0;
  polaris::install_program_logger("json-schema", polaris::log_settings_from_env());
  // generate_json<Recipe>: the model must answer JSON matching Recipe; the answer is parsed.
  auto recipe = polaris::generate_json<Recipe>();
  const Recipe dish = recipe("A quick vegetarian pasta for two.");
  std::cout << dish.name << " (" << dish.minutes << " min)\n";
  for (const auto& item : dish.ingredients) std::cout << "  - " << item << '\n';

  // generate: no tools, free text; here the prompt itself asks for a JSON shape.
  auto session = polaris::generate({.system = "Reply with JSON only, no Markdown."});
  std::cout << session.ask(R"(Give {"capital": string, "population": number} for France.)") << '\n';
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << '\n';
  return 1;
}
