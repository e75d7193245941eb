// Builds against the installed polaris and renders a schema (no server needed).
#include <polaris/polaris.hpp>

#include <iostream>

int main() {
  const polaris::Schema schema =
      polaris::Object{.properties = {{"a", polaris::Int{.required = true}}}};
  std::cout << "polaris " << polaris::version() << " " << schema.to_json().dump() << '\n';
  return schema.to_json()["required"][0] == "a" ? 0 : 1;
}
