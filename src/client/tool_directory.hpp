// Internal: what a connection knows of the catalogue: listing it, and the tools' declared
// timeouts (learnt from a listing, or looked up before a tool's first call).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/registry_channel.hpp"
#include "common/log.hpp"
#include "polaris/tool.hpp"

namespace polaris::detail {

/// Thread safety: all methods may be called from any thread; one mutex guards the timeouts.
class ToolDirectory {
 public:
  ToolDirectory(RegistryChannel& registry, CallMux& mux, Logger log)
      : registry_(registry), mux_(mux), log_(std::move(log)) {}

  /// The catalogue: paged (a polaris registry), else the reference's one array. Remembers the
  /// declared timeouts it lists.
  std::vector<ToolDeclaration> list();

  /// The declared timeout of `name` (the request timeout when it declares none, or when it
  /// cannot be looked up); nullopt while the registry has not been asked for it.
  [[nodiscard]] std::optional<std::chrono::milliseconds> declared_timeout(
      std::string_view name) const;

  [[nodiscard]] std::chrono::milliseconds request_timeout() const {
    return registry_.request_timeout();
  }

  /// Asks the registry for the declaration of `name` alone and remembers its timeout, then runs
  /// `then` (on a library thread), whatever the answer: a failed lookup leaves the default.
  void look_up_timeout(const std::string& name, std::function<void()> then);

 private:
  std::vector<ToolDeclaration> list_paged();
  std::vector<ToolDeclaration> list_reference();
  void remember_timeouts(const std::vector<ToolDeclaration>& tools);
  void on_lookup_reply(const std::string& name, const ReplyOutcome& outcome);

  RegistryChannel& registry_;
  CallMux& mux_;
  const Logger log_;
  mutable std::mutex mutex_;
  /// Declared timeouts of the tools listed or looked up (0: none declared).
  std::map<std::string, std::chrono::milliseconds, std::less<>> declared_timeouts_;
  /// No registry answers lookups (e.g. a reference registry): calls use the default at once.
  bool lookups_unsupported_ = false;
};

}  // namespace polaris::detail
