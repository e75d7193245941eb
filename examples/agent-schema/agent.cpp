// agent-schema agent: tools whose handlers ask the model themselves, with the tool's own response
// type as the output schema, and one that calls another tool through the same connection.
#include <ctime>
#include <polaris/llm.hpp>
#include <polaris/polaris.hpp>

#include "example_main.hpp"

struct Weather {
  std::string city, forecast;
  double celsius;
};
POLARIS_DESCRIBE(Weather, (city, ""), (forecast, "one sentence"), (celsius, "temperature"));
struct Fortune {
  std::string date, fortune;
  std::int64_t lucky_number;
};
POLARIS_DESCRIBE(Fortune, (date, ""), (fortune, "one sentence"), (lucky_number, ""));
struct City {
  std::string city;
};
POLARIS_DESCRIBE(City, (city, ""));
struct Person {
  std::string name;
};
POLARIS_DESCRIBE(Person, (name, ""));
struct Today {
  std::string date;
};
POLARIS_DESCRIBE(Today, (date, ""));

Today today() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char date[16];
  std::strftime(date, sizeof date, "%F", &utc);
  return {date};
}

int main(int argc, char** argv) try {
  if (example::handled_help(
          argc, argv,
          "usage: agent-schema-agent   (serves getWeather, getFortune and "
          "getCurrentDate; see README.md)"
      ))
    return 0;
  polaris::install_program_logger("agent-schema-agent", polaris::log_settings_from_env());
  auto conn = polaris::connect();
  // Each returned function may be called from several handler threads at once.
  auto ask_weather = polaris::generate_json<Weather>();
  auto ask_fortune = polaris::generate_json<Fortune>();

  conn.register_tool("getCurrentDate", "today's date (YYYY-MM-DD, UTC)", today);
  conn.register_tool("getWeather", "a (made-up) weather forecast for a city", [&](const City& in) {
    return ask_weather("Invent a plausible weather forecast for " + in.city + ".");
  });
  conn.register_tool("getFortune", "a fortune for a person, for today", [&](const Person& in) {
    // A tool of this connection runs locally, without the network.
    const auto date = conn.call<Today>("getCurrentDate").date;
    return ask_fortune("Write a fortune for " + in.name + " for " + date + ".");
  });
  polaris::wait_for_shutdown();
} catch (const std::exception& error) {
  return example::report(error);
}
