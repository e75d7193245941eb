// mcp/convert.cpp - JSON Schema <-> polaris wire schema (schema/json_schema.cpp), tool names,
// call results.
#include <algorithm>
#include <string>

#include "polaris/mcp.hpp"
#include "polaris/tool.hpp"
#include "protocol/names.hpp"
#include "schema/json_schema.hpp"

namespace polaris::mcp {

const std::vector<std::string>& supported_protocol_versions() {
  static const std::vector<std::string> versions = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                    "2024-11-05"};
  return versions;
}

Json json_schema_to_wire(const Json& json_schema) {
  return polaris::detail::json_schema_to_wire(json_schema);
}

Json wire_to_json_schema(const Json& wire_schema) {
  Json out = polaris::detail::wire_to_json_schema(wire_schema);
  if (!out.contains("type")) out["type"] = "object";
  return out;
}

std::string polaris_tool_name(const std::string& prefix, const std::string& name) {
  std::string joined = prefix.empty() ? name : prefix + "_" + name;
  for (auto& c : joined) {
    if (!names::is_name_char(c)) c = '_';
  }
  if (joined.empty() || !names::is_name_start(joined[0])) joined.insert(joined.begin(), '_');
  if (joined.size() > names::kMaxToolName) joined.resize(names::kMaxToolName);
  return joined;
}

Json call_result_from_reply(const Json& reply) {
  if (reply.is_object()) {
    auto content = reply.find("content");
    if (content != reply.end() && content->is_array() &&
        std::all_of(content->begin(), content->end(), [](const Json& block) {
          return block.is_object() && block.contains("type") && block["type"].is_string();
        })) {
      Json result = {{"content", *content}};
      if (auto it = reply.find("structuredContent"); it != reply.end() && it->is_object()) {
        result["structuredContent"] = *it;
      }
      if (auto it = reply.find("isError");
          it != reply.end() && it->is_boolean() && it->get<bool>()) {
        result["isError"] = true;
      }
      return result;
    }
  }
  Json result = {{"content", Json::array({{{"type", "text"}, {"text", reply.dump()}}})}};
  if (reply.is_object()) result["structuredContent"] = reply;
  return result;
}

Json reply_from_call_result(const Json& result) {
  Json reply = Json::object();
  Json content = result.is_object() ? result.value("content", Json::array()) : Json::array();
  if (!content.is_array()) content = Json::array();
  Json texts = Json::array();
  for (const auto& block : content) {
    if (block.is_object() && block.contains("type") && block["type"] == "text" &&
        block.contains("text") && block["text"].is_string()) {
      texts.push_back(block["text"]);
    }
  }
  reply["content"] = content;
  reply["results"] = texts;
  if (result.is_object()) {
    if (auto it = result.find("structuredContent"); it != result.end() && !it->is_null()) {
      reply["structuredContent"] = *it;
    }
  }
  return reply;
}

}  // namespace polaris::mcp
