// llm/session_impl.hpp - the session loop: model turns and parallel function calls.
#pragma once

#include <atomic>
#include <memory>

#include "llm/provider.hpp"
#include "llm/tool_backend.hpp"
#include "polaris/llm.hpp"

namespace polaris {

/// Thread safety: as Session (none); cancel() alone may be called from any thread.
class Session::Impl {
 public:
  /// `tools` may be null: a session without tools.
  Impl(SessionOptions options, std::unique_ptr<llm::ToolBackend> tools);

  void send_text(std::string_view prompt, const std::function<bool(std::string_view)>& on_text);
  /// Stops the running send at its next chance (used by TextStream's destructor).
  void cancel() { cancelled_->store(true); }
  /// Clears a cancel before a new send (on the caller's thread, so a cancel that races with the
  /// start of a stream's worker is never lost).
  void reset_cancel() { cancelled_->store(false); }

  /// The conversation's length, and dropping what came after (a stream abandoned midway).
  [[nodiscard]] std::size_t history_size() const { return model_->history_size(); }
  void truncate_history(std::size_t size) { model_->truncate_history(size); }

  [[nodiscard]] Usage usage() const { return model_->usage(); }
  [[nodiscard]] Provider provider() const { return resolved_.provider; }
  [[nodiscard]] const std::string& model() const { return resolved_.options.model; }

 private:
  std::vector<llm::ToolSpec> current_tools();
  std::vector<llm::FunctionResult> run_calls(const std::vector<llm::FunctionCall>& calls);
  /// Announces a call (on_function_call) and returns its event, to be finished by run_call.
  FunctionCallEvent start_call(const llm::FunctionCall& call);
  llm::FunctionResult run_call(const llm::FunctionCall& call, FunctionCallEvent event);

  llm::ResolvedOptions resolved_;
  Logger logger_;
  std::unique_ptr<llm::ToolBackend> tools_;
  // Shared with the provider's HTTP progress callback, which may outlive a moved-from Impl.
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<llm::ModelProvider> model_;
};

/// Makes a session over any tool backend (tests use this with a fake backend).
Session make_session(SessionOptions options, std::unique_ptr<llm::ToolBackend> tools);

}  // namespace polaris
