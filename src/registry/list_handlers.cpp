#include "registry/list_handlers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/untrusted_json.hpp"
#include "protocol/wire.hpp"

namespace polaris::detail {

void ListHandlers::on_list(const Inbound& message) {
  const std::string body = node_.catalogue.list_json(authorizer_.list_filter(message.reply));
  if (body.size() > node_.bus.max_payload()) {
    const std::string problem = "list: the catalogue (" + std::to_string(body.size()) +
                                " bytes) exceeds the max payload; polaris clients page through " +
                                std::string(wire::kPagedListSubject);
    node_.log->error("{}", problem);
    node_.bus.respond(message, wire::status_reply(false, problem).dump());
    return;
  }
  node_.bus.respond(message, body);
}

void ListHandlers::on_page(const Inbound& message) {
  Json request = parse_untrusted_json(message.body);
  if (!request.is_object()) request = Json::object();
  const std::string after = request.value("after", Json("")).is_string()
                                ? request.value("after", std::string())
                                : std::string();
  std::size_t limit = 1000;
  if (auto it = request.find("limit"); it != request.end() && it->is_number_unsigned()) {
    limit = std::clamp<std::size_t>(it->get<std::size_t>(), 1, 100000);
  }
  node_.bus.respond(message, node_.catalogue.page_json(after, limit, node_.bus.max_reply_bytes(),
                                                       authorizer_.list_filter(message.reply)));
}

void ListHandlers::on_snapshot(const Inbound& message) {
  answer_snapshot(message, parse_untrusted_json(message.body));
}

void ListHandlers::on_pull(const Inbound& message) {
  const Json request = parse_untrusted_json(message.body);
  if (!request.is_object() || request.value("node", Json()) != node_.node_id) return;
  answer_snapshot(message, request);
}

void ListHandlers::answer_snapshot(const Inbound& message, const Json& request) {
  const Json after = request.is_object() ? request.value("after", Json()) : Json();
  node_.bus.respond(
      message, node_.catalogue
                   .snapshot_page(after.is_string() ? after.get<std::string>() : std::string(),
                                  node_.bus.max_reply_bytes() / 2, std::chrono::steady_clock::now())
                   .dump());
}

}  // namespace polaris::detail
