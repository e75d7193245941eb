// Connection::Impl: listing the catalogue (paged, or the reference's one array) and
// remembering the tools' declared timeouts.
#include <spdlog/spdlog.h>

#include "client/connection_impl.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"

namespace polaris {
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
    wire::ListPageRequest request{.limit = kPageLimit};
    if (!first) request.after = after;
    const Json reply = registry_request(wire::kPagedListSubject, request.to_json().dump());
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

std::vector<ToolDeclaration> Connection::Impl::list_reference() {
  const Json reply = registry_request(wire::kListSubject, std::string());
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

void Connection::Impl::remember_timeouts(const std::vector<ToolDeclaration>& tools) {
  std::map<std::string, std::chrono::milliseconds, std::less<>> timeouts;
  for (const auto& tool : tools) {
    timeouts.emplace(tool.name,
                     tool.polaris ? tool.polaris->timeout : std::chrono::milliseconds(0));
  }
  std::lock_guard lock(timeouts_mutex_);
  declared_timeouts_ = std::move(timeouts);
}

void Connection::Impl::look_up_timeout(const std::string& name, std::function<void()> then) {
  // A page of one tool that starts right before `name`: the paged list every polaris registry
  // answers, so no new subject (docs/PROTOCOL.md, "Declared timeouts").
  const wire::ListPageRequest request{.limit = 1, .after = lookup_after(name)};
  mux_->request(
      std::string(wire::kPagedListSubject), request.to_json().dump(),
      std::min(options_.request_timeout, kLookupTimeout),
      [this, name, then = std::move(then)](detail::ReplyOutcome outcome) {
        std::optional<std::chrono::milliseconds> declared;
        if (const auto* text = std::get_if<std::string>(&outcome)) {
          const auto page = wire::ListPage::from_json(wire::parse_body(*text));
          if (page && !page->tools.empty()) {
            try {
              const auto tool = ToolDeclaration::from_json(page->tools.front());
              if (tool.name == name) {
                declared = tool.polaris ? tool.polaris->timeout : std::chrono::milliseconds(0);
              }
            } catch (const Error& error) {
              log_->debug("looking up {}: a malformed declaration: {}", name, error.what());
            }
          }
        } else {
          const auto& error = std::get<Error>(outcome);
          log_->debug("looking up the declaration of {}: {}", name, error.what());
          // Nobody answers the paged list (a reference registry): never ask again.
          std::lock_guard lock(timeouts_mutex_);
          if (error.code() == Errc::no_such_tool) timeout_lookups_unsupported_ = true;
        }
        if (declared) {
          std::lock_guard lock(timeouts_mutex_);
          declared_timeouts_.insert_or_assign(name, *declared);
        }
        then();
      });
}

}  // namespace polaris
