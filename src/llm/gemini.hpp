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

/// The request body of one turn (exposed for tests).
Json gemini_request(const SessionOptions& options, const Json& contents,
                    const std::vector<ToolSpec>& tools);

}  // namespace polaris::llm
