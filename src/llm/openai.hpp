// llm/openai.hpp - OpenAI-compatible Chat Completions (OpenAI, Ollama, vLLM, llama.cpp server).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "llm/provider.hpp"

namespace polaris::llm {

/// `options` resolved (model, base_url, api_key set); `cancelled` is polled during requests.
std::unique_ptr<ModelProvider> make_openai(const SessionOptions& options,
                                           std::function<bool()> cancelled);

/// The request body of one turn (exposed for tests).
Json openai_request(const SessionOptions& options, const Json& messages,
                    const std::vector<ToolSpec>& tools);

}  // namespace polaris::llm
