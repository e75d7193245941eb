// llm/gemini.hpp - the Gemini generateContent API (Gemini API and Vertex AI share it).
#pragma once

#include <memory>
#include <string>

#include "llm/api_client.hpp"
#include "llm/provider.hpp"

namespace polaris::llm {

struct GeminiEndpoint {
  /// Everything before ":generateContent", e.g.
  /// https://generativelanguage.googleapis.com/v1beta/models/gemini-flash-latest
  std::string model_url;
  AuthHeaders auth;
  bool auth_refreshable = false;
  std::string name = "gemini";  ///< for messages: "gemini" or "vertex"
};

/// Builds the endpoint for the Gemini API (API key) from resolved options.
GeminiEndpoint gemini_api_endpoint(const SessionOptions& options);

/// `cancelled` is polled during requests (see ApiClient::Options::cancelled).
std::unique_ptr<ModelProvider> make_gemini(const SessionOptions& options, GeminiEndpoint endpoint,
                                           std::function<bool()> cancelled);

/// One turn's answer, whole or streamed in chunks: the text goes to the caller as it comes, the
/// parts are kept for the conversation. Exposed for the tests and the fuzz targets: this is where
/// a model API's (untrusted) answers are read. Thread safety: none.
class GeminiAnswer {
 public:
  GeminiAnswer(std::string provider_name, bool show_thoughts)
      : name_(std::move(provider_name)), show_thoughts_(show_thoughts) {}

  /// Takes one answer or one streamed chunk.
  /// @throws Error(Errc::protocol) for an error in the stream or a blocked prompt.
  void absorb(const Json& answer, const TextCallback& on_text);
  /// The text callback asked to stop.
  [[nodiscard]] bool stopped() const noexcept { return stopped_; }
  [[nodiscard]] const std::string& finish_reason() const noexcept { return finish_reason_; }
  /// The model's parts as received (streamed text pieces joined).
  [[nodiscard]] const Json& parts() const noexcept { return parts_; }
  /// Adds the answer's token counts to `usage` (once per request: chunks repeat running totals).
  void fold_usage(Usage& usage);
  /// The function calls of a complete answer.
  /// @throws Error(Errc::protocol) when the model refused, cut or produced nothing.
  [[nodiscard]] std::vector<FunctionCall> calls() const;

 private:
  void add_part(const Json& part);

  std::string name_;
  bool show_thoughts_;
  Json parts_ = Json::array();
  Json last_usage_;
  std::string finish_reason_;
  bool stopped_ = false;
};

/// The request body of one turn (exposed for tests).
Json gemini_request(const SessionOptions& options, const Json& contents,
                    const std::vector<ToolSpec>& tools);

}  // namespace polaris::llm
