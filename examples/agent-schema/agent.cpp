// agent-schema agent: tools whose handlers ask the model themselves, with the tool's own response
// schema as the output schema, and one that calls another tool through the same connection.
#include <ctime>
#include <polaris/llm.hpp>
#include <polaris/polaris.hpp>

#include "example_main.hpp"

int main(int argc, char** argv) try {
  if (example::handled_help(argc, argv,
                            "usage: agent-schema-agent   (serves getWeather, getFortune and "
                            "getCurrentDate; see README.md)"))
    return 0;
  polaris::install_program_logger("agent-schema-agent", polaris::log_settings_from_env());
  auto conn = polaris::connect();

  const polaris::Schema weather = polaris::Object{
      .properties = {
          {"city", polaris::String{.required = true}},
          {"forecast", polaris::String{.description = "one sentence", .required = true}},
          {"celsius", polaris::Float{.description = "temperature", .required = true}},
      }};
  const polaris::Schema fortune = polaris::Object{
      .properties = {
          {"date", polaris::String{.required = true}},
          {"fortune", polaris::String{.description = "one sentence", .required = true}},
          {"lucky_number", polaris::Int{.required = true}},
      }};
  // Each returned function may be called from several handler threads at once.
  auto ask_weather = polaris::generate_json({.response_schema = weather});
  auto ask_fortune = polaris::generate_json({.response_schema = fortune});

  conn.register_tool({
      .name = "getCurrentDate",
      .description = "today's date (YYYY-MM-DD, UTC)",
      .parameters = polaris::Object{},
      .response = polaris::Object{.properties = {{"date", polaris::String{.required = true}}}},
      .handler = [](const polaris::Request&) -> polaris::Result {
        const std::time_t now = std::time(nullptr);
        std::tm utc{};
        gmtime_r(&now, &utc);
        char date[16];
        std::strftime(date, sizeof date, "%F", &utc);
        return {{"date", date}};
      },
  });
  conn.register_tool({
      .name = "getWeather",
      .description = "a (made-up) weather forecast for a city",
      .parameters = polaris::Object{.properties = {{"city", polaris::String{.required = true}}}},
      .response = weather,
      .handler = [&](const polaris::Request& req) -> polaris::Result {
        return ask_weather("Invent a plausible weather forecast for " + req.string("city") + ".");
      },
  });
  conn.register_tool({
      .name = "getFortune",
      .description = "a fortune for a person, for today",
      .parameters = polaris::Object{.properties = {{"name", polaris::String{.required = true}}}},
      .response = fortune,
      .handler = [&](const polaris::Request& req) -> polaris::Result {
        // A tool of this connection runs locally, without the network.
        const auto date = conn.call("getCurrentDate").at("date").get<std::string>();
        return ask_fortune("Write a fortune for " + req.string("name") + " for " + date + ".");
      },
  });
  polaris::wait_for_shutdown();
} catch (const std::exception& error) {
  return example::report(error);
}
