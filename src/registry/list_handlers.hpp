// Internal: a registry node's read-only answers: the catalogue as a list (reference subject), as
// pages (polaris.registry.list), and as snapshot pages for a starting or merging peer.
#pragma once

#include "registry/node_bus.hpp"
#include "registry/node_context.hpp"
#include "security/authorizer.hpp"

namespace polaris::detail {

/// Thread safety: handlers may run on any thread, concurrently (the catalogue is locked).
class ListHandlers {
 public:
  ListHandlers(const NodeContext& node, const Authorizer& authorizer)
      : node_(node), authorizer_(authorizer) {}

  void on_list(const Inbound& message);
  void on_page(const Inbound& message);
  /// A starting node copying the catalogue (from whichever node answers first).
  void on_snapshot(const Inbound& message);
  /// A peer merging this node's catalogue into its own (anti-entropy, see PeerSync).
  void on_pull(const Inbound& message);

 private:
  void answer_snapshot(const Inbound& message, const Json& request);

  NodeContext node_;
  const Authorizer& authorizer_;
};

}  // namespace polaris::detail
