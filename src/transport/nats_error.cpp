#include "transport/nats_error.hpp"

#include <optional>
#include <string>

namespace polaris::detail {

Errc errc_from_nats(natsStatus status) noexcept {
  switch (status) {
    case NATS_NO_SERVER:
    case NATS_SSL_ERROR:
    case NATS_IO_ERROR:
      return Errc::connection_failed;
    case NATS_TIMEOUT:
      return Errc::timeout;
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_AUTH_FAILED:
      return Errc::not_connected;
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
      return Errc::connection_lost;
    case NATS_MAX_PAYLOAD:
      return Errc::payload_too_large;
    case NATS_NO_RESPONDERS:
      return Errc::no_such_tool;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
      return Errc::invalid_argument;
    case NATS_PROTOCOL_ERROR:
      return Errc::protocol;
    case NATS_NOT_PERMITTED:
      return Errc::permission_denied;
    default:
      return Errc::internal;
  }
}

void throw_nats_error(natsStatus status, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += natsStatus_GetText(status);
  natsStatus last_status = NATS_OK;
  const char* last_error = nats_GetLastError(&last_status);
  std::string detail = last_error != nullptr ? last_error : "";
  // nats.c prefixes details with its source location, "(conn.c:2088): ": drop it.
  if (detail.starts_with("(")) {
    if (const auto end = detail.find("): "); end != std::string::npos) detail.erase(0, end + 3);
  }
  if (!detail.empty() && message.find(detail) == std::string::npos) {
    message += " (" + detail + ")";
  }
  throw Error(errc_from_nats(status), message);
}

std::string async_error_text(natsConnection* connection, natsStatus status) {
  const char* text = nullptr;
  (void)natsConnection_GetLastError(connection, &text);
  return text != nullptr && *text != '\0' ? std::string(text) : natsStatus_GetText(status);
}

std::optional<std::string> denied_publish_subject(std::string_view server_error) {
  // nats-server: Permissions Violation for Publish to "<subject>" (Go's %q quoting; subjects
  // cannot contain quotes or spaces, so the next quote ends it).
  constexpr std::string_view kPrefix = "Permissions Violation for Publish to \"";
  const auto start = server_error.find(kPrefix);
  if (start == std::string_view::npos) return std::nullopt;
  const auto first = start + kPrefix.size();
  const auto end = server_error.find('"', first);
  if (end == std::string_view::npos || end == first) return std::nullopt;
  return std::string(server_error.substr(first, end - first));
}

}  // namespace polaris::detail
