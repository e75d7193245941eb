// llm/openai.hpp - OpenAI-compatible Chat Completions (OpenAI, Ollama, vLLM, llama.cpp server).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "llm/provider.hpp"

namespace polaris::llm {

/// `options` resolved (model, base_url, api_key set); `cancelled` is polled during requests.
std::unique_ptr<ModelProvider> make_openai(const SessionOptions& options,
                                           std::function<bool()> cancelled);

/// One turn's answer, whole or streamed in chunks: text to the caller as it comes, tool calls
/// assembled from their fragments. Exposed for the tests and the fuzz targets: this is where a
/// model API's (untrusted) answers are read. Thread safety: none.
class OpenAiAnswer {
 public:
  explicit OpenAiAnswer(bool show_thoughts) : show_thoughts_(show_thoughts) {}

  /// Takes a whole (not streamed) answer; adds its token counts to `usage`.
  /// @throws Error(Errc::protocol) for an error answer or one without choices.
  void absorb_answer(const Json& answer, const TextCallback& on_text, Usage& usage);
  /// Takes one streamed chunk; adds its token counts to `usage`.
  /// @throws Error(Errc::protocol) for an error in the stream.
  void absorb_chunk(const Json& chunk, const TextCallback& on_text, Usage& usage);
  /// The text callback asked to stop.
  [[nodiscard]] bool stopped() const noexcept { return stopped_; }
  [[nodiscard]] const std::string& finish_reason() const noexcept { return finish_reason_; }
  /// The function calls of a complete answer, and in `message` the assistant message that goes
  /// back into the conversation.
  /// @throws Error(Errc::protocol) when the model refused or a content filter stopped it.
  std::vector<FunctionCall> finish(Json& message);

 private:
  // A tool call being assembled from streamed fragments (joined by their `index`).
  struct PendingCall {
    std::string id;
    std::string name;
    std::string arguments;
  };

  void emit(const std::string& piece, bool thought, const TextCallback& on_text);

  bool show_thoughts_;
  std::string text_;
  std::map<int, PendingCall> calls_;  // ordered by index: the model's order
  std::string finish_reason_;
  std::string refusal_;
  bool stopped_ = false;
};

/// The request body of one turn (exposed for tests).
Json openai_request(const SessionOptions& options, const Json& messages,
                    const std::vector<ToolSpec>& tools);

}  // namespace polaris::llm
