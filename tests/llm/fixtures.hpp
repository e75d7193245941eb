// tests/llm/fixtures.hpp - loading the recorded exchanges (go-vcr v2 YAML) and synthetic replies.
#pragma once

#include <string>

#include "fake_server.hpp"
#include "polaris/json.hpp"

namespace polaris::test {

struct Interaction {
  std::string method;
  std::string url;     ///< as recorded, e.g. https://generativelanguage.googleapis.com/v1beta/...
  std::string target;  ///< path and query of url
  std::string request_body;
  int status = 0;
  std::string content_type;
  std::string response_body;

  [[nodiscard]] Json request_json() const { return Json::parse(request_body, nullptr, false); }
  /// The recorded response as a fake server reply.
  [[nodiscard]] Reply reply() const;
};

/// Loads interaction `index` of tests/llm/fixtures/<relative>.
Interaction load_fixture(const std::string& relative, int index = 0);
/// Reads tests/llm/synthetic/<relative> as text.
std::string synthetic(const std::string& relative);

}  // namespace polaris::test
