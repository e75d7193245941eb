#include "client/registry_channel.hpp"

#include <memory>
#include <variant>

#include "polaris/error.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"

namespace polaris::detail {

std::future<std::string> RegistryChannel::send(std::string_view subject, const std::string& body,
                                               const RegistryAttempt& attempt) {
  // Shared with the callback: the completing thread may still be inside set_value() when the
  // waiter wakes up and returns.
  auto reply = std::make_shared<std::promise<std::string>>();
  auto future = reply->get_future();
  const std::string subject_text(subject);
  mux_.request(
      subject_text, body, attempt.timeout.value_or(request_timeout_),
      [reply, subject_text](ReplyOutcome outcome) {
        if (auto* text = std::get_if<std::string>(&outcome)) {
          reply->set_value(std::move(*text));
        } else if (std::get<Error>(outcome).code() == Errc::no_such_tool) {
          reply->set_exception(std::make_exception_ptr(
              Error(Errc::no_registry, "no registry answers on " + subject_text)));
        } else {
          reply->set_exception(std::make_exception_ptr(std::get<Error>(outcome)));
        }
      },
      RequestOptions{.retry = attempt.retry});
  return future;
}

Json RegistryChannel::request(std::string_view subject, const std::string& body,
                              const RegistryAttempt& attempt) {
  Json json = wire::parse_body(send(subject, body, attempt).get());
  if (json.is_discarded()) {
    throw Error(Errc::protocol, "the registry's reply on " + std::string(subject) + " is not JSON");
  }
  return json;
}

void RegistryChannel::status_request(std::string_view subject, const Json& body) {
  const auto status = wire::StatusReply::from_json(request(subject, body.dump()));
  if (!status) {
    throw Error(Errc::protocol,
                "the registry's reply on " + std::string(subject) + " has no boolean \"success\"");
  }
  if (!status->success) throw Error(Errc::registration_failed, status->msg);
}

std::string RegistryChannel::write_subject(std::string_view verb, std::string_view shared) const {
  if (!user_subjects()) return std::string(shared);
  return wire::user_subject(user_, verb);
}

}  // namespace polaris::detail
