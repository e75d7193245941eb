// llm/provider.hpp - what the session loop needs from a model API.
//
// A provider keeps the conversation in its own wire format (Gemini `contents`, OpenAI `messages`),
// so that whatever the model sent (thought signatures, call ids) goes back exactly as received.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/json.hpp"
#include "polaris/llm.hpp"

namespace polaris::llm {

/// A tool as declared to the model (wire schema from the catalogue).
struct ToolSpec {
  std::string name;
  std::string description;
  Json parameters;  ///< polaris wire schema (OpenAPI subset); null: no parameters
};

/// One function call asked for by the model.
struct FunctionCall {
  std::string id;  ///< provider's call id ("" when the provider gave none)
  std::string name;
  Json arguments = Json::object();
  std::string invalid_arguments;  ///< non-empty: the arguments could not be parsed (why)
};

/// What happened to one call, in the model's order.
struct FunctionResult {
  Json response;        ///< the tool's reply, or {"error": "..."} when the call failed
  bool failed = false;  ///< the call failed (`response` holds the error)
};

/// The outcome of one model request.
struct Turn {
  std::vector<FunctionCall> calls;
  bool stopped = false;  ///< the text callback asked to stop
};

/// Receives answer text as it streams; returns false to stop.
using TextCallback = std::function<bool(std::string_view)>;

/// Thread safety: none; owned and used by one Session.
class ModelProvider {
 public:
  virtual ~ModelProvider() = default;
  /// Appends the user's prompt to the conversation.
  virtual void add_user_text(std::string_view text) = 0;
  /// Sends the conversation and the tools, streams text, appends the model's reply to the
  /// conversation and returns its function calls.
  /// @throws ProviderError, Error(Errc::protocol) for a blocked/safety/malformed finish.
  virtual Turn run_turn(const std::vector<ToolSpec>& tools, const TextCallback& on_text) = 0;
  /// Appends the results of the last turn's calls (same order as Turn::calls).
  virtual void add_function_results(const std::vector<FunctionCall>& calls,
                                    const std::vector<FunctionResult>& results) = 0;
  /// Number of conversation entries (for rolling back a stopped send).
  [[nodiscard]] virtual std::size_t history_size() const = 0;
  virtual void truncate_history(std::size_t size) = 0;
  [[nodiscard]] virtual Usage usage() const = 0;
};

/// Options after defaults and the environment were applied.
struct ResolvedOptions {
  SessionOptions options;  ///< model, base_url, api_key, project, location filled in
  Provider provider = Provider::gemini;
};

/// Resolves provider, model, endpoint and credentials from options and the environment.
/// @throws Error(Errc::invalid_argument) when something required is missing.
ResolvedOptions resolve(SessionOptions options);

/// Makes the provider for resolved options; `cancelled` is polled during requests.
std::unique_ptr<ModelProvider> make_provider(const ResolvedOptions& resolved,
                                             std::function<bool()> cancelled);

}  // namespace polaris::llm
