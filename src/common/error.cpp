#include "polaris/error.hpp"

namespace polaris {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::connection_failed:
      return "connection_failed";
    case Errc::connection_lost:
      return "connection_lost";
    case Errc::not_connected:
      return "not_connected";
    case Errc::no_such_tool:
      return "no_such_tool";
    case Errc::timeout:
      return "timeout";
    case Errc::tool_failed:
      return "tool_failed";
    case Errc::busy:
      return "busy";
    case Errc::outcome_unknown:
      return "outcome_unknown";
    case Errc::registration_failed:
      return "registration_failed";
    case Errc::no_registry:
      return "no_registry";
    case Errc::payload_too_large:
      return "payload_too_large";
    case Errc::protocol:
      return "protocol";
    case Errc::process:
      return "process";
    case Errc::internal:
      return "internal";
    case Errc::permission_denied:
      return "permission_denied";
  }
  return "unknown";
}

}  // namespace polaris
