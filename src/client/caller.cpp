#include "client/caller.hpp"

#include "polaris/error.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"
#include "transport/publish.hpp"

namespace polaris::detail {
namespace {

// Progress bodies are JSON objects; anything else is dropped (advisory, never fails the call).
ProgressCallback progress_relay(const std::function<void(const Json&)>& on_progress) {
  if (!on_progress) return {};
  return [on_progress](std::string_view body) {
    Json message = wire::parse_body(body);
    if (message.is_discarded() || !message.is_object()) return;
    try {
      on_progress(message);
    } catch (...) {  // NOLINT(bugprone-empty-catch): a caller's callback must not break delivery
    }
  };
}

}  // namespace

void check_callable_name(std::string_view name) {
  if (name.empty()) throw Error(Errc::invalid_argument, "call: the tool name is empty");
  for (char c : name) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '*' || c == '>') {
      throw Error(Errc::invalid_argument, "call: '" + std::string(name) +
                                              "' cannot be a tool name (white space or wildcard)");
    }
  }
}

Json reply_to_value(const std::string& name, const std::string& body) {
  Json reply = wire::parse_body(body);
  if (reply.is_discarded() || !reply.is_object()) {
    throw Error(Errc::protocol,
                "tool " + name + " answered with something that is not a JSON object");
  }
  if (auto error = wire::ErrorReply::from_json(reply)) {
    throw Error(Errc::tool_failed, std::move(error->message));
  }
  return reply;
}

void Caller::call(const std::string& name, const Json& arguments, const CallOptions& options,
                  std::function<void(Json)> on_value,
                  std::function<void(std::exception_ptr)> on_error) {
  if (closed_) throw Error(Errc::not_connected, "the connection is closed");
  if (!arguments.is_object() && !arguments.is_null()) {
    throw Error(Errc::invalid_argument, "call " + name + ": the arguments must be a JSON object");
  }
  std::string body = arguments.is_null() ? std::string("{}") : arguments.dump();
  if (static_cast<std::int64_t>(body.size()) > max_payload(connection_)) {
    throw Error(Errc::payload_too_large, "call " + name + ": the request of " +
                                             std::to_string(body.size()) +
                                             " bytes exceeds the max payload of " +
                                             std::to_string(max_payload(connection_)) + " bytes");
  }
  const auto timeout = options.timeout ? options.timeout : directory_.declared_timeout(name);
  if (timeout) {
    send(name, body, options, *timeout, std::move(on_value), std::move(on_error));
    return;
  }
  // A caller that never listed learns the tool's declared timeout first (once per name).
  directory_.look_up_timeout(name, [this, name, body = std::move(body), options,
                                    on_value = std::move(on_value), on_error]() mutable {
    try {
      send(name, body, options,
           directory_.declared_timeout(name).value_or(directory_.request_timeout()),
           std::move(on_value), on_error);
    } catch (...) {
      on_error(std::current_exception());
    }
  });
}

void Caller::send(const std::string& name, const std::string& body, const CallOptions& options,
                  std::chrono::milliseconds timeout, std::function<void(Json)> on_value,
                  std::function<void(std::exception_ptr)> on_error) {
  if (closed_) throw Error(Errc::not_connected, "the connection is closed");
  RequestOptions request{
      .headers = {{wire::kTimeoutHeader, std::to_string(timeout.count())}},
      .progress = progress_relay(options.on_progress),
      .call_id = agent_id_ + "-" + std::to_string(++sequence_),
      .retry = options.retry,
      .tool = name,
  };
  request.headers.emplace_back(wire::kCallIdHeader, request.call_id);
  if (!options.chain.empty()) {
    request.headers.emplace_back(wire::kChainHeader, wire::format_chain(options.chain));
  }
  mux_.request(
      wire::tool_subject(name), body, timeout,
      [name, timeout, on_value = std::move(on_value),
       on_error = std::move(on_error)](ReplyOutcome outcome) {
        if (auto* error = std::get_if<Error>(&outcome)) {
          if (error->code() == Errc::no_such_tool) {
            on_error(std::make_exception_ptr(Error(Errc::no_such_tool, "no such tool: " + name)));
          } else if (error->code() == Errc::timeout) {
            // The tool, not its subject: callers know tools by name.
            on_error(std::make_exception_ptr(Error(
                Errc::timeout,
                "call " + name + ": no reply within " + std::to_string(timeout.count()) + " ms")));
          } else {
            on_error(std::make_exception_ptr(*error));
          }
          return;
        }
        try {
          on_value(reply_to_value(name, std::get<std::string>(outcome)));
        } catch (...) {
          on_error(std::current_exception());
        }
      },
      std::move(request));
}

}  // namespace polaris::detail
