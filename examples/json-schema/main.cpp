// json-schema: JSON answers checked against a schema (generate_json), and a plain generate whose
// prompt asks for JSON.
#include <iostream>
#include <polaris/llm.hpp>
#include <polaris/polaris.hpp>

#include "example_main.hpp"

int main(int argc, char** argv) try {
  if (example::handled_help(argc, argv,
                            "usage: json-schema   (generate_json with an output schema, and "
                            "generate with a JSON-shaped prompt)"))
    return 0;
  polaris::install_program_logger("json-schema", polaris::log_settings_from_env());
  // generate_json: the model must answer JSON matching the schema; the result is parsed.
  auto
      recipe =
          polaris::generate_json(
              {
                  .response_schema =
                      polaris::Object{.properties =
                                          {
                                              {"name", polaris::String{.description = "dish name",
                                                                       .required = true}},
                                              {"minutes",
                                               polaris::Int{
                                                   .description = "total time", .required = true}},
                                              {"ingredients", polaris::StringArray{.item_description =
                                                                                       "ingredient",
                                                                                   .required = true}},
                                          }},
              });
  const polaris::Json dish = recipe("A quick vegetarian pasta for two.");
  std::cout << dish["name"].get<std::string>() << " (" << dish["minutes"] << " min)\n";
  for (const auto& item : dish["ingredients"])
    std::cout << "  - " << item.get<std::string>() << '\n';

  // generate: no tools, free text; here the prompt itself asks for a JSON shape.
  auto session = polaris::generate({.system = "Reply with JSON only, no Markdown."});
  std::cout << session.ask(R"(Give {"capital": string, "population": number} for France.)") << '\n';
} catch (const std::exception& e) {
  std::cerr << "error: " << e.what() << '\n';
  return 1;
}
