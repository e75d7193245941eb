// llm/anthropic.hpp - the Anthropic Messages API (POST /v1/messages).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "llm/provider.hpp"

namespace polaris::llm {

/// The `anthropic-version` header every request carries.
inline constexpr const char* kAnthropicVersion = "2023-06-01";
/// max_tokens when SessionOptions::max_output_tokens is unset (the API requires a value).
inline constexpr int kAnthropicMaxTokens = 16384;

/// `options` resolved (model, base_url, api_key set); `cancelled` is polled during requests.
std::unique_ptr<ModelProvider> make_anthropic(const SessionOptions& options,
                                              std::function<bool()> cancelled);

/// One turn's answer, whole or streamed as events: text to the caller as it comes, content blocks
/// (thinking with its signature, text, tool_use) kept to go back into the conversation unchanged.
/// Exposed for the tests and the fuzz targets: this is where a model API's (untrusted) answers
/// are read. Thread safety: none.
class AnthropicAnswer {
 public:
  explicit AnthropicAnswer(bool show_thoughts) : show_thoughts_(show_thoughts) {}

  /// Takes a whole (not streamed) message.
  /// @throws Error(Errc::protocol) for an error answer or one that is not a message.
  void absorb_message(const Json& message, const TextCallback& on_text);
  /// Takes one streamed event's data (its `type` names the event: message_start,
  /// content_block_start/delta/stop, message_delta, message_stop, ping, error).
  /// @throws ProviderError for an `error` event (provider_code: the API's error type, status:
  ///         the stream's HTTP status, 200).
  void absorb_event(const Json& event, const TextCallback& on_text);
  /// Adds the answer's token counts to `usage` (once per request).
  void fold_usage(Usage& usage);
  /// The text callback asked to stop.
  [[nodiscard]] bool stopped() const noexcept { return stopped_; }
  /// A streamed answer reached message_stop.
  [[nodiscard]] bool complete() const noexcept { return complete_; }
  [[nodiscard]] const std::string& stop_reason() const noexcept { return stop_reason_; }
  /// The function calls of a complete answer, and in `content` the assistant's content blocks as
  /// they go back into the conversation (empty text blocks dropped: the API refuses them).
  /// @throws Error(Errc::protocol) when the model refused.
  std::vector<FunctionCall> finish(Json& content);

 private:
  void emit(const std::string& piece, bool thought, const TextCallback& on_text);
  void add_block(const Json& block, const TextCallback& on_text);

  bool show_thoughts_;
  std::map<std::int64_t, Json> blocks_;         // by index: the model's order
  std::map<std::int64_t, std::string> inputs_;  // tool_use input JSON being streamed
  std::string stop_reason_;
  Json usage_;  // message_start's usage, updated by message_delta's
  bool complete_ = false;
  bool stopped_ = false;
};

/// The request body of one turn (exposed for tests).
Json anthropic_request(const SessionOptions& options, const Json& messages,
                       const std::vector<ToolSpec>& tools);

}  // namespace polaris::llm
