#include "client/tool_host.hpp"

#include <algorithm>
#include <mutex>

#include "polaris/error.hpp"

namespace polaris::detail {
namespace {

// Withdrawing a tool waits for its handlers, so a handler cannot withdraw its own tool.
void check_not_inside_handler(const std::string& name, const ServedTool& tool) {
  if (tool.pool->on_worker_thread()) {
    throw Error(Errc::invalid_argument,
                "unregister: " + name +
                    " cannot be unregistered (or its connection closed) from inside its own "
                    "handler");
  }
}

}  // namespace

std::shared_ptr<ServedTool> ToolHost::find(std::string_view name) const {
  std::shared_lock lock(mutex_);
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : it->second;
}

std::vector<std::string> ToolHost::names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> names;
  names.reserve(tools_.size());
  for (const auto& [name, tool] : tools_) names.push_back(name);
  return names;
}

std::size_t ToolHost::size() const {
  std::shared_lock lock(mutex_);
  return tools_.size();
}

std::vector<std::string> ToolHost::declarations() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> declarations;
  declarations.reserve(tools_.size());
  for (const auto& [name, tool] : tools_) declarations.push_back(tool->declaration.dump());
  return declarations;
}

bool ToolHost::on_handler_thread() const {
  std::shared_lock lock(mutex_);
  return std::any_of(tools_.begin(), tools_.end(),
                     [](const auto& entry) { return entry.second->pool->on_worker_thread(); });
}

void ToolHost::add(std::shared_ptr<ServedTool> tool) {
  std::unique_lock lock(mutex_);
  std::string name = tool->tool.name;
  tools_.emplace(std::move(name), std::move(tool));
}

std::shared_ptr<ServedTool> ToolHost::take(std::string_view name, bool from_outside) {
  std::unique_lock lock(mutex_);
  auto it = tools_.find(name);
  if (it == tools_.end()) return nullptr;
  if (from_outside) check_not_inside_handler(it->first, *it->second);
  auto tool = std::move(it->second);
  tools_.erase(it);
  return tool;
}

std::vector<ToolHost::Entry> ToolHost::take_all() {
  std::vector<Entry> taken;
  std::unique_lock lock(mutex_);
  for (const auto& [name, tool] : tools_) check_not_inside_handler(name, *tool);
  for (auto& [name, tool] : tools_) taken.emplace_back(name, std::move(tool));
  tools_.clear();
  return taken;
}

void ToolHost::with_tool(std::string_view name,
                         const std::function<void(ServedTool*)>& serve) const {
  std::shared_lock lock(mutex_);
  const auto it = tools_.find(name);
  serve(it != tools_.end() ? it->second.get() : nullptr);
}

}  // namespace polaris::detail
