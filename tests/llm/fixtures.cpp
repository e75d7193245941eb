// tests/llm/fixtures.cpp
#include "fixtures.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace polaris::test {

Reply Interaction::reply() const {
  return Reply{.status = status, .body = response_body, .content_type = content_type};
}

Interaction load_fixture(const std::string& relative, int index) {
  const std::string path = std::string(POLARIS_LLM_TEST_DIR) + "/fixtures/" + relative;
  const YAML::Node root = YAML::LoadFile(path);
  const YAML::Node i = root["interactions"][index];
  if (!i) throw std::runtime_error("no interaction " + std::to_string(index) + " in " + path);
  Interaction out;
  out.method = i["request"]["method"].as<std::string>();
  out.url = i["request"]["url"].as<std::string>();
  const auto scheme = out.url.find("://");
  const auto slash = out.url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  out.target = slash == std::string::npos ? "/" : out.url.substr(slash);
  out.request_body = i["request"]["body"].as<std::string>("");
  out.status = i["response"]["code"].as<int>();
  out.response_body = i["response"]["body"].as<std::string>("");
  const YAML::Node type = i["response"]["headers"]["Content-Type"];
  out.content_type = type && type.size() > 0 ? type[0].as<std::string>() : "application/json";
  return out;
}

std::string synthetic(const std::string& relative) {
  const std::string path = std::string(POLARIS_LLM_TEST_DIR) + "/synthetic/" + relative;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace polaris::test
