// llm/tool_backend.hpp - where a session finds and calls tools. The real one is a Connection;
// tests of the model side can use a fake.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "polaris/json.hpp"
#include "polaris/tool.hpp"

namespace polaris {
class Connection;
}

namespace polaris::llm {

/// Thread safety: call() is invoked from several threads at once; list()/local() from one.
class ToolBackend {
 public:
  virtual ~ToolBackend() = default;
  /// The live catalogue.
  virtual std::vector<ToolDeclaration> list() = 0;
  /// Names of tools served by this process's connection.
  virtual std::vector<std::string> local() = 0;
  /// Calls a tool; throws polaris::Error on failure (Errc::tool_failed for an `_error` reply).
  /// `on_message` (may be empty: ask for none) receives the tool's progress and log messages
  /// while it runs, as CallOptions::on_progress does.
  virtual Json call(const std::string& name, const Json& arguments,
                    std::optional<std::chrono::milliseconds> timeout,
                    const std::function<void(const Json&)>& on_message) = 0;
};

/// A backend over `conn` (which must outlive it).
std::unique_ptr<ToolBackend> connection_backend(Connection& conn);

}  // namespace polaris::llm
