#include "mcp/notify.hpp"

#include <array>
#include <string_view>

namespace polaris::mcp::detail {
namespace {

bool is_level(const std::string& level) {
  static constexpr std::array<std::string_view, 8> kLevels = {
      "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
  for (const auto known : kLevels) {
    if (level == known) return true;
  }
  return false;
}

}  // namespace

std::optional<Json> notification_from_tool_message(const Json& message,
                                                   const Json& progress_token) {
  if (!message.is_object()) return std::nullopt;
  if (auto progress = message.find("progress");
      progress != message.end() && progress->is_number()) {
    if (!progress_token.is_string() && !progress_token.is_number_integer()) return std::nullopt;
    Json params = {{"progressToken", progress_token}, {"progress", *progress}};
    if (auto total = message.find("total"); total != message.end() && total->is_number()) {
      params["total"] = *total;
    }
    if (auto text = message.find("message"); text != message.end() && text->is_string()) {
      params["message"] = *text;
    }
    return Json{{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", params}};
  }
  if (auto log = message.find("log"); log != message.end() && log->is_object()) {
    const std::string level =
        log->value("level", Json("info")).is_string() ? log->value("level", "info") : "info";
    Json params = {{"level", is_level(level) ? level : "info"},
                   {"data", log->value("data", Json())}};
    if (auto logger = log->find("logger"); logger != log->end() && logger->is_string()) {
      params["logger"] = *logger;
    }
    return Json{{"jsonrpc", "2.0"}, {"method", "notifications/message"}, {"params", params}};
  }
  return std::nullopt;
}

Json progress_message(double progress, std::optional<double> total, const std::string& message) {
  Json json = {{"progress", progress}};
  if (total) json["total"] = *total;
  if (!message.empty()) json["message"] = message;
  return json;
}

Json log_message(const std::string& level, const Json& data, const std::string& logger) {
  Json log = {{"level", level}, {"data", data}};
  if (!logger.empty()) log["logger"] = logger;
  return {{"log", log}};
}

}  // namespace polaris::mcp::detail
