// Connection::Impl: listing the catalogue (paged, or the reference's one array) and
// remembering the tools' declared timeouts.
#include <spdlog/spdlog.h>

#include "client/connection_impl.hpp"
#include "protocol/wire.hpp"

namespace polaris {
namespace {

constexpr int kPageLimit = 1000;

void append_declarations(const Json& items, std::vector<ToolDeclaration>& tools,
                         const Logger& log) {
  for (const auto& item : items) {
    try {
      tools.push_back(ToolDeclaration::from_json(item));
    } catch (const Error& error) {
      log->warn("skipping a malformed catalogue entry: {}", error.what());
    }
  }
}

}  // namespace

std::vector<ToolDeclaration> Connection::Impl::list_tools() {
  if (closed_) throw Error(Errc::not_connected, "the connection is closed");
  std::vector<ToolDeclaration> tools;
  try {
    tools = list_paged();
  } catch (const Error& error) {
    // A registry without the paged subject (e.g. a Go registry): the reference's one array.
    if (error.code() != Errc::no_registry) throw;
    tools = list_reference();
  }
  remember_timeouts(tools);
  return tools;
}

std::vector<ToolDeclaration> Connection::Impl::list_paged() {
  std::vector<ToolDeclaration> tools;
  std::string after;
  for (bool first = true;; first = false) {
    Json request{{"limit", kPageLimit}};
    if (!first) request["after"] = after;
    const Json reply = registry_request(wire::kPagedListSubject, request.dump());
    if (!reply.is_object() || !reply.contains("tools") || !reply["tools"].is_array()) {
      if (reply.is_object() && reply.contains("msg") && reply["msg"].is_string()) {
        throw Error(Errc::protocol, "list: " + reply["msg"].get<std::string>());
      }
      throw Error(Errc::protocol, "the registry's list page has no \"tools\" array");
    }
    append_declarations(reply["tools"], tools, log_);
    const auto next = reply.find("next");
    if (next == reply.end() || !next->is_string() || next->get_ref<const std::string&>().empty()) {
      return tools;
    }
    // Names are sorted: a page that does not move forward would loop for ever.
    if (!first && next->get<std::string>() <= after) {
      throw Error(Errc::protocol, "the registry's list pages do not advance");
    }
    after = next->get<std::string>();
  }
}

std::vector<ToolDeclaration> Connection::Impl::list_reference() {
  const Json reply = registry_request(wire::kListSubject, std::string());
  std::vector<ToolDeclaration> tools;
  if (reply.is_null()) return tools;  // a Go registry encodes an empty catalogue as null
  if (!reply.is_array()) {
    if (reply.is_object() && reply.contains("msg") && reply["msg"].is_string()) {
      throw Error(Errc::protocol, "list: " + reply["msg"].get<std::string>());
    }
    throw Error(Errc::protocol, "the registry's tool list is not a JSON array");
  }
  tools.reserve(reply.size());
  append_declarations(reply, tools, log_);
  return tools;
}

void Connection::Impl::remember_timeouts(const std::vector<ToolDeclaration>& tools) {
  std::map<std::string, std::chrono::milliseconds, std::less<>> timeouts;
  for (const auto& tool : tools) {
    if (tool.polaris && tool.polaris->timeout.count() > 0) {
      timeouts.emplace(tool.name, tool.polaris->timeout);
    }
  }
  std::lock_guard lock(timeouts_mutex_);
  declared_timeouts_ = std::move(timeouts);
}

}  // namespace polaris
