// Internal: the tools a connection serves, by name.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/served_tool.hpp"

namespace polaris::detail {

/// The table of served tools: looked up on every call, changed by registration, unregistration
/// and revocation. Withdrawing a tool waits for its handlers elsewhere, so the methods that take
/// tools out refuse to run inside one of them.
///
/// Thread safety: all methods may be called from any thread; one shared mutex guards the table.
class ToolHost {
 public:
  using Entry = std::pair<std::string, std::shared_ptr<ServedTool>>;

  [[nodiscard]] std::shared_ptr<ServedTool> find(std::string_view name) const;
  [[nodiscard]] std::vector<std::string> names() const;
  [[nodiscard]] std::size_t size() const;
  /// Every declaration as JSON text (keepalives).
  [[nodiscard]] std::vector<std::string> declarations() const;
  /// True inside a handler of one of the tools.
  [[nodiscard]] bool on_handler_thread() const;

  void add(std::shared_ptr<ServedTool> tool);
  /// Takes `name` out of the table; null when absent.
  /// @throws Error(invalid_argument) from inside one of its handlers (when `from_outside`).
  std::shared_ptr<ServedTool> take(std::string_view name, bool from_outside = true);
  /// Takes every tool out. @throws Error(invalid_argument) from inside any of their handlers.
  std::vector<Entry> take_all();
  /// Runs `serve` with the tool `name` (null when absent) under the lock, so that nobody takes
  /// its pool away meanwhile.
  void with_tool(std::string_view name, const std::function<void(ServedTool*)>& serve) const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<ServedTool>, std::less<>> tools_;
};

}  // namespace polaris::detail
