// agents-fake-model: a local stand-in for Anthropic's Messages API that answers with scripted
// exchanges, so that the demo runs without a model key (as the tests' fake providers do). Each
// agent's script is chosen by a phrase of its system prompt; its reply N answers the request
// that holds N earlier assistant turns, so agents running in parallel get their own replies.
//
// usage: agents-fake-model SCRIPT.json
// Prints "listening on http://127.0.0.1:PORT" once it serves (any free port), until SIGINT or
// SIGTERM. Non-streaming requests only (run the agents with --no-stream).
#include <httplib.h>
#include <polaris/polaris.hpp>

#include <fstream>
#include <iostream>
#include <string>

#include "example_main.hpp"

namespace {

using polaris::Json;

// A full Messages API reply from a script step: {"text": "..."} or {"tool_uses": [{"name":
// ..., "input": {...}}, ...]}.
Json message_from(const Json& step, int turn) {
  Json content = Json::array();
  int use = 0;
  for (const auto& tool_use : step.value("tool_uses", Json::array())) {
    content.push_back(
        {{"type", "tool_use"},
         {"id", "toolu_" + std::to_string(turn) + "_" + std::to_string(use++)},
         {"name", tool_use.at("name")},
         {"input", tool_use.at("input")}}
    );
  }
  if (step.contains("text")) content.push_back({{"type", "text"}, {"text", step["text"]}});
  return {
      {"id", "msg_scripted_" + std::to_string(turn)},
      {"type", "message"},
      {"role", "assistant"},
      {"model", "scripted"},
      {"content", content},
      {"stop_reason", use > 0 ? "tool_use" : "end_turn"},
      {"usage", {{"input_tokens", 0}, {"output_tokens", 0}}}};
}

std::string system_text(const Json& request) {
  const Json system = request.value("system", Json());
  if (system.is_string()) return system.get<std::string>();
  std::string text;
  for (const auto& block : system.is_array() ? system : Json::array()) {
    text += block.value("text", "");
  }
  return text;
}

Json error_body(const std::string& message) {
  return {{"type", "error"}, {"error", {{"type", "invalid_request_error"}, {"message", message}}}};
}

}  // namespace

int main(int argc, char** argv) try {
  if (example::handled_help(
          argc, argv,
          "usage: agents-fake-model SCRIPT.json   (a scripted Anthropic Messages API on a free "
          "loopback port, until SIGINT/SIGTERM)"
      ))
    return 0;
  if (argc != 2) throw std::runtime_error("usage: agents-fake-model SCRIPT.json");
  std::ifstream file(argv[1]);
  const Json script = Json::parse(file, nullptr, false);
  if (!file || script.is_discarded() || !script.contains("agents")) {
    throw std::runtime_error(std::string("cannot read the script ") + argv[1]);
  }

  httplib::Server server;
  server.Post("/v1/messages", [&script](const httplib::Request& req, httplib::Response& res) {
    const Json request = Json::parse(req.body, nullptr, false);
    if (request.is_discarded() || request.value("stream", false)) {
      res.status = 400;
      res.set_content(
          error_body("JSON requests without streaming only").dump(), "application/json"
      );
      return;
    }
    int turn = 0;
    for (const auto& message : request.value("messages", Json::array())) {
      turn += message.value("role", "") == "assistant" ? 1 : 0;
    }
    const std::string system = system_text(request);
    for (const auto& agent : script["agents"]) {
      if (system.find(agent.at("system_contains").get<std::string>()) == std::string::npos) {
        continue;
      }
      const Json& steps = agent.at("steps");
      if (turn < static_cast<int>(steps.size())) {
        res.set_content(message_from(steps[turn], turn).dump(), "application/json");
        return;
      }
    }
    res.status = 400;
    res.set_content(
        error_body("no scripted reply for turn " + std::to_string(turn) + " of this system prompt")
            .dump(),
        "application/json"
    );
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) throw std::runtime_error("cannot listen on 127.0.0.1");
  std::thread stopper([&server] {
    polaris::wait_for_shutdown();
    server.stop();
  });
  std::cout << "listening on http://127.0.0.1:" << port << std::endl;
  server.listen_after_bind();
  stopper.join();
} catch (const std::exception& error) {
  return example::report(error);
}
