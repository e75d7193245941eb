// Internal: what the parts of a registry node share. Registry::Impl owns each of these and
// outlives the parts it hands this to.
#pragma once

#include <string>

#include "polaris/logging.hpp"
#include "polaris/registry.hpp"
#include "registry/catalogue.hpp"
#include "registry/node_bus.hpp"

namespace polaris::detail {

struct NodeContext {
  const RegistryOptions& options;
  const std::string& node_id;
  bool clustered = false;  ///< other nodes may exist (a cluster name, or attach mode)
  Logger log;
  Catalogue& catalogue;
  StampClock& stamps;
  NodeBus& bus;
};

}  // namespace polaris::detail
