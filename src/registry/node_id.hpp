// Internal: names for registry nodes.
#pragma once

#include <nats/nats.h>

#include <string>

#include "polaris/error.hpp"

namespace polaris::detail {

/// "polaris-<NUID>": unique without coordination (nats.c's NUIDs are random per process).
inline std::string make_node_id() {
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK) throw Error(Errc::internal, "cannot make a node id");
  std::string text(inbox);
  natsInbox_Destroy(inbox);
  return "polaris-" + text.substr(text.rfind('.') + 1);
}

}  // namespace polaris::detail
