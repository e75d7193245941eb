#include "registry/list_handlers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "protocol/fields.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"

namespace polaris::detail {

void ListHandlers::on_list(const Inbound& message) {
  const std::string body = node_.catalogue.list_json(authorizer_.list_filter(message.reply));
  if (body.size() > node_.bus.max_payload()) {
    const std::string problem = "list: the catalogue (" + std::to_string(body.size()) +
                                " bytes) exceeds the max payload; polaris clients page through " +
                                std::string(wire::kPagedListSubject);
    node_.log->error("{}", problem);
    node_.bus.respond(message, wire::StatusReply{false, problem}.to_json().dump());
    return;
  }
  node_.bus.respond(message, body);
}

// A ListPageRequest, read leniently: a missing or mistyped field takes its default.
void ListHandlers::on_page(const Inbound& message) {
  const Json request = wire::parse_body(message.body);
  const std::string after = wire::string_or(request, "after", "");
  std::size_t limit = 1000;
  if (const Json& asked = wire::field(request, "limit"); asked.is_number_unsigned()) {
    limit = std::clamp<std::size_t>(asked.get<std::size_t>(), 1, 100000);
  }
  node_.bus.respond(message, node_.catalogue.page_json(after, limit, node_.bus.max_reply_bytes(),
                                                       authorizer_.list_filter(message.reply)));
}

void ListHandlers::on_snapshot(const Inbound& message) {
  answer_snapshot(message, wire::parse_body(message.body));
}

void ListHandlers::on_pull(const Inbound& message) {
  const Json request = wire::parse_body(message.body);
  if (wire::string_field(request, "node") != node_.node_id) return;
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
