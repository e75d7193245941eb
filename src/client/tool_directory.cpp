#include "client/tool_directory.hpp"

#include <spdlog/spdlog.h>

#include "protocol/messages.hpp"
#include "protocol/wire.hpp"

namespace polaris::detail {
namespace {

constexpr int kPageLimit = 1000;
// How long a call waits for its tool's declaration before it goes out with the default timeout.
constexpr std::chrono::milliseconds kLookupTimeout{1000};

// A string below the valid tool name `name` with no valid tool name between the two (names use
// only [A-Za-z0-9_-], all below '~'): `name` with its last character one lower, then '~'. A
// page "after" it starts at `name` when `name` is listed.
std::string lookup_after(const std::string& name) {
  std::string after = name;
  after.back() = static_cast<char>(after.back() - 1);
  after += '~';
  return after;
}

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

std::vector<ToolDeclaration> ToolDirectory::list() {
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

std::vector<ToolDeclaration> ToolDirectory::list_paged() {
  std::vector<ToolDeclaration> tools;
  std::string after;
  for (bool first = true;; first = false) {
    wire::ListPageRequest request{.limit = kPageLimit};
    if (!first) request.after = after;
    const Json reply = registry_.request(wire::kPagedListSubject, request.to_json().dump());
    const auto page = wire::ListPage::from_json(reply);
    if (!page) {
      if (const auto msg = wire::string_field(reply, "msg")) {
        throw Error(Errc::protocol, "list: " + *msg);
      }
      throw Error(Errc::protocol, "the registry's list page has no \"tools\" array");
    }
    append_declarations(page->tools, tools, log_);
    if (page->next.empty()) return tools;
    // Names are sorted: a page that does not move forward would loop for ever.
    if (!first && page->next <= after) {
      throw Error(Errc::protocol, "the registry's list pages do not advance");
    }
    after = page->next;
  }
}

std::vector<ToolDeclaration> ToolDirectory::list_reference() {
  const Json reply = registry_.request(wire::kListSubject, std::string());
  std::vector<ToolDeclaration> tools;
  if (reply.is_null()) return tools;  // a Go registry encodes an empty catalogue as null
  if (!reply.is_array()) {
    if (const auto msg = wire::string_field(reply, "msg")) {
      throw Error(Errc::protocol, "list: " + *msg);
    }
    throw Error(Errc::protocol, "the registry's tool list is not a JSON array");
  }
  tools.reserve(reply.size());
  append_declarations(reply, tools, log_);
  return tools;
}

void ToolDirectory::remember_timeouts(const std::vector<ToolDeclaration>& tools) {
  std::map<std::string, std::chrono::milliseconds, std::less<>> timeouts;
  for (const auto& tool : tools) {
    timeouts.emplace(tool.name,
                     tool.polaris ? tool.polaris->timeout : std::chrono::milliseconds(0));
  }
  std::lock_guard lock(mutex_);
  declared_timeouts_ = std::move(timeouts);
}

std::optional<std::chrono::milliseconds> ToolDirectory::declared_timeout(
    std::string_view name) const {
  std::lock_guard lock(mutex_);
  const auto declared = declared_timeouts_.find(name);
  if (declared == declared_timeouts_.end()) {
    // A name a polaris registry would refuse is not looked up there.
    if (lookups_unsupported_ || !is_valid_tool_name(name)) return registry_.request_timeout();
    return std::nullopt;
  }
  return declared->second.count() > 0 ? declared->second : registry_.request_timeout();
}

void ToolDirectory::look_up_timeout(const std::string& name, std::function<void()> then) {
  // A page of one tool that starts right before `name`: the paged list every polaris registry
  // answers, so no new subject (docs/PROTOCOL.md, "Declared timeouts").
  const wire::ListPageRequest request{.limit = 1, .after = lookup_after(name)};
  mux_.request(std::string(wire::kPagedListSubject), request.to_json().dump(),
               std::min(registry_.request_timeout(), kLookupTimeout),
               [this, name, then = std::move(then)](ReplyOutcome outcome) {
                 on_lookup_reply(name, outcome);
                 then();
               });
}

void ToolDirectory::on_lookup_reply(const std::string& name, const ReplyOutcome& outcome) {
  if (const auto* error = std::get_if<Error>(&outcome)) {
    log_->debug("looking up the declaration of {}: {}", name, error->what());
    // Nobody answers the paged list (a reference registry): never ask again.
    std::lock_guard lock(mutex_);
    if (error->code() == Errc::no_such_tool) lookups_unsupported_ = true;
    return;
  }
  const auto page = wire::ListPage::from_json(wire::parse_body(std::get<std::string>(outcome)));
  if (!page || page->tools.empty()) return;
  try {
    const auto tool = ToolDeclaration::from_json(page->tools.front());
    if (tool.name != name) return;
    std::lock_guard lock(mutex_);
    declared_timeouts_.insert_or_assign(
        name, tool.polaris ? tool.polaris->timeout : std::chrono::milliseconds(0));
  } catch (const Error& error) {
    log_->debug("looking up {}: a malformed declaration: {}", name, error.what());
  }
}

}  // namespace polaris::detail
