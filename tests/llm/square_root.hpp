// tests/llm/square_root.hpp - the recordings' square_root tool, computing the real answer.
#pragma once

#include <cmath>
#include <cstdio>
#include <memory>

#include "fake_tools.hpp"
#include "polaris/tool.hpp"

namespace polaris::test {

/// The prompt of the SquareRoot recordings.
inline constexpr const char* kSquareRootPrompt =
    "Use the square_root tool to calculate the square root of 132413 and reply with only the "
    "result. Do not give an explanation.";

/// The tool's answer, with two decimals as the recorded model expects ("363.89").
inline Json square_root_answer(double number) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", std::sqrt(number));
  return Json{{"response", text}};
}

inline Json square_root_parameters() {
  return {{"type", "OBJECT"},
          {"properties", {{"number", {{"type", "NUMBER"}}}}},
          {"required", {"number"}}};
}

/// As a polaris tool, for a real agent.
inline Tool square_root_tool() {
  return Tool{
      .name = "square_root",
      .description = "Calculates and return the square root of a number",
      .parameters = Object{.properties = {{"number", Float{.required = true}}}},
      .response = Object{.properties = {{"response", String{.required = true}}}},
      .handler = [](const Request& req) -> Result {
        return square_root_answer(req.number("number"));
      },
  };
}

/// As a fake tool source, for sessions without a registry.
inline std::unique_ptr<FakeTools> square_root_tools() {
  auto tools = std::make_unique<FakeTools>();
  tools->add("square_root", square_root_parameters(),
             [](const Json& args) { return square_root_answer(args.at("number").get<double>()); });
  return tools;
}

}  // namespace polaris::test
