// polaris/llm.hpp - LLM sessions: a model that calls the cluster's tools (Gemini API, Vertex AI,
// OpenAI-compatible Chat Completions, Anthropic Messages).
//
//   auto conn = polaris::connect();
//   polaris::Session session(conn, {.system = "Answer briefly."});
//   for (const auto& text : session.send("Add 35 and 21 with calculatorA.")) std::cout << text;
//
// Errors follow the library's policy: everything throws polaris::Error. A provider's HTTP error
// (after retries) throws ProviderError, which carries the HTTP status and the provider's code.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "polaris/schema.hpp"

namespace polaris {

class Connection;

/// Which API serves the model.
enum class Provider {
  automatic,  ///< from the environment: see SessionOptions::provider
  gemini,     ///< Gemini API (generativelanguage.googleapis.com), API key
  vertex,     ///< Gemini on Vertex AI, service-account OAuth2
  openai,     ///< OpenAI-compatible Chat Completions (OpenAI, Ollama, vLLM, llama.cpp server)
  anthropic,  ///< Anthropic Messages API (api.anthropic.com/v1/messages), API key
};

/// "gemini", "vertex", "openai", "anthropic" or "automatic".
std::string_view to_string(Provider provider) noexcept;
/// Parses a provider name; std::nullopt when unknown.
std::optional<Provider> parse_provider(std::string_view name) noexcept;

/// A provider's HTTP error, raised once retries are exhausted or for a status that is never
/// retried. code() is Errc::connection_failed for the retryable statuses (408, 429, 5xx, 529) and
/// Errc::invalid_argument for other 4xx (bad key, unknown model, bad request). An `error` event
/// inside an Anthropic stream (status 200) is one too: connection_failed for overloaded_error,
/// api_error, rate_limit_error and timeout_error, Errc::protocol for other types.
class ProviderError : public Error {
 public:
  ProviderError(Errc code, const std::string& message, int status, std::string provider_code)
      : Error(code, message), status_(status), provider_code_(std::move(provider_code)) {}
  /// The HTTP status, e.g. 429.
  [[nodiscard]] int status() const noexcept { return status_; }
  /// The provider's error code, e.g. "RESOURCE_EXHAUSTED" (Gemini), "invalid_api_key" (OpenAI) or
  /// "overloaded_error" (Anthropic's error type).
  [[nodiscard]] const std::string& provider_code() const noexcept { return provider_code_; }

 private:
  int status_;
  std::string provider_code_{};
};

/// Retries of one HTTP request to the provider: on 408, 429, 500, 502, 503, 504, 529 (Anthropic's
/// "overloaded") and transport errors, never on other 4xx. The delay doubles from
/// `initial_backoff` up to `max_backoff`, with random jitter in [delay/2, delay]; a server's
/// retry-after-ms or Retry-After header or Gemini RetryInfo wins (capped at `max_backoff`).
struct RetryOptions {
  int max_attempts = 4;  ///< total attempts, 1: no retry
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{20000};
};

/// Binary system instructions (Gemini: inline data; OpenAI, Anthropic: only text/* MIME types).
struct Blob {
  std::string mime_type{};  ///< e.g. "text/plain", "application/pdf"
  std::string data{};       ///< raw bytes (not base64)
};

/// One function call of the model, reported twice: when it starts (finished == false) and when
/// it ends.
struct FunctionCallEvent {
  std::string name{};
  Json arguments{};  ///< after default arguments were merged in
  bool finished = false;
  bool ok = false;                        ///< finished: the tool answered without error
  Json result{};                          ///< finished and ok: the tool's reply
  std::string error{};                    ///< finished and !ok: why
  std::chrono::milliseconds duration{0};  ///< finished: wall time of the call
};

/// Token counts as reported by the provider (summed over the session's requests).
struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t thinking_tokens = 0;
  std::int64_t total_tokens = 0;
  std::int64_t requests = 0;
};

/// Options of a session. Unset optionals take the provider's defaults: for Gemini and Vertex the
/// reference's (temperature 0.2, top-p 0.95, 8192 output tokens); for OpenAI-compatible providers
/// nothing is sent (reasoning models reject sampling parameters); for Anthropic max_tokens 16384
/// (the API requires a value) and nothing else.
struct SessionOptions {
  /// automatic: vertex when GOOGLE_GENAI_USE_VERTEXAI is true; else gemini when GOOGLE_API_KEY or
  /// GEMINI_API_KEY is set; else vertex when GOOGLE_CLOUD_PROJECT and
  /// GOOGLE_APPLICATION_CREDENTIALS are set; else openai when OPENAI_API_KEY or OPENAI_BASE_URL is
  /// set; else anthropic when ANTHROPIC_API_KEY is set; else gemini when `api_key` or `base_url`
  /// is given here; else Errc::invalid_argument naming every provider's variables. openai needs
  /// an API key for OpenAI's own endpoint only (a server given with `base_url` /
  /// OPENAI_BASE_URL, e.g. Ollama or llama.cpp, needs none); anthropic likewise for
  /// api.anthropic.com.
  Provider provider = Provider::automatic;
  /// empty: gemini-3.1-pro-preview (Gemini, Vertex); $OPENAI_MODEL else gpt-4.1-mini (OpenAI);
  /// $ANTHROPIC_MODEL else claude-sonnet-4-5 (Anthropic).
  std::string model{};
  std::string system{};               ///< system instructions; empty: none
  std::optional<Blob> system_data{};  ///< binary system instructions (after `system` if both)
  std::optional<double> temperature{};
  std::optional<double> top_p{};
  std::optional<int> max_output_tokens{};
  /// Gemini thinkingBudget (tokens; -1 dynamic, 0 off); Anthropic thinking (-1 adaptive, 0
  /// disabled, N enabled with budget_tokens N).
  std::optional<int> thinking_budget{};
  /// Gemini thinkingLevel / OpenAI reasoning_effort / Anthropic output_config.effort; "": unset.
  std::string thinking_level{};
  bool show_thoughts = false;  ///< pass the model's thoughts to the text callback too
  /// Stream answers (Gemini streamGenerateContent?alt=sse, OpenAI and Anthropic "stream": true).
  /// false: one plain request per turn, the text delivered when the turn is complete.
  bool stream = true;

  /// Require JSON output. Not combined with tools: a JSON session declares no tools.
  bool json_output = false;
  /// Schema of the JSON output (polaris schema API, or a tool's response schema via
  /// Schema::from_json); empty: any JSON (Anthropic, which constrains output only to a schema:
  /// asked for in the system instructions).
  Schema response_schema{};

  /// Whether tools offered to the model include the ones this connection serves itself.
  bool use_own_tools = false;
  /// Only these tool names are offered to the model; empty: every tool of the catalogue.
  std::vector<std::string> allowed_tools{};
  /// Arguments merged into every function call where the model did not give them.
  Json default_arguments = Json::object();
  /// Model turns per send before the session gives up (Errc::protocol).
  int max_turns = 10;
  /// Per function call; empty: the connection's request timeout.
  std::optional<std::chrono::milliseconds> call_timeout{};

  /// Provider endpoint settings; empty values come from the environment.
  /// GOOGLE_GEMINI_BASE_URL, GOOGLE_VERTEX_BASE_URL, OPENAI_BASE_URL, ANTHROPIC_BASE_URL (without
  /// /v1, as Anthropic's SDKs take it; default https://api.anthropic.com)
  std::string base_url{};
  /// GOOGLE_API_KEY / GEMINI_API_KEY, OPENAI_API_KEY or ANTHROPIC_API_KEY
  std::string api_key{};
  std::string project{};           ///< GOOGLE_CLOUD_PROJECT (Vertex)
  std::string location{};          ///< GOOGLE_CLOUD_LOCATION (Vertex); empty: "global"
  std::string credentials_file{};  ///< GOOGLE_APPLICATION_CREDENTIALS (Vertex)

  RetryOptions retry{};
  std::chrono::milliseconds connect_timeout{10000};
  /// Whole-request limit of one HTTP request (a streamed answer included); 0: none.
  std::chrono::milliseconds request_timeout{std::chrono::minutes(5)};

  /// Called as each function call starts and ends, on the thread running that call.
  std::function<void(const FunctionCallEvent&)> on_function_call{};
  /// Called with each progress or log message a function call sends while it runs (the message
  /// of CallOptions::on_progress; an LLM agent's events, nested agents' included, are log
  /// messages: docs/PROTOCOL.md, "LLM agents"), with the called tool's name, on a library
  /// thread. Empty: the session's calls ask for no messages.
  std::function<void(const std::string& tool, const Json& message)> on_call_message{};
  Logger logger{};     ///< empty: spdlog's default logger
  bool debug = false;  ///< log every request and response body (at info level)
};

class TextStream;

/// A conversation with a model that can call the cluster's tools.
///
/// Thread safety: none. One send at a time; a TextStream from send() uses the session until it is
/// finished or destroyed. The session may be moved to another thread between sends. The
/// on_function_call callback runs concurrently on several threads (one per call).
class Session {
 public:
  /// A session whose model may call the tools of `conn`'s cluster (read at every turn). `conn`
  /// must outlive the session.
  /// @throws Error(Errc::invalid_argument) for bad options or missing credentials.
  Session(Connection& conn, SessionOptions options);
  /// A session without tools.
  explicit Session(SessionOptions options);
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Sends `prompt` and streams the model's answer text to `on_text` as it arrives; return false
  /// from `on_text` to stop early (the turn is then dropped from the conversation). Function
  /// calls run in between. The next send continues the conversation.
  /// @throws ProviderError for HTTP errors; Error(Errc::protocol) for a blocked prompt, a safety
  ///         stop, a malformed function call or too many turns; Error(Errc::connection_failed)
  ///         when the provider cannot be reached.
  void send_text(std::string_view prompt, const std::function<bool(std::string_view)>& on_text);
  /// Same, as a range of text pieces; breaking out of the loop stops the model.
  TextStream send(std::string prompt);
  /// Same, collecting the whole answer.
  std::string ask(std::string_view prompt);

  /// Tokens used so far.
  [[nodiscard]] Usage usage() const;
  [[nodiscard]] Provider provider() const;
  [[nodiscard]] const std::string& model() const;

  class Impl;
  /// Internal: a session over a prepared implementation (see make_session in the library).
  explicit Session(std::unique_ptr<Impl> impl);

 private:
  friend class TextStream;
  std::unique_ptr<Impl> impl_{};
};

/// The text pieces of one send, produced on a background thread. Move-only; destroying it before
/// the end stops the model, waits for the background thread and drops the exchange from the
/// conversation (as a send_text stopped by its callback does). Errors are rethrown from the
/// iterator's increment (or begin()).
class TextStream {
 public:
  class iterator {
   public:
    using value_type = std::string;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    const std::string& operator*() const { return current_; }
    iterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return done_; }

   private:
    friend class TextStream;
    explicit iterator(TextStream* stream) : stream_(stream) {}
    TextStream* stream_ = nullptr;
    std::string current_{};
    bool done_ = true;
  };

  TextStream(Session& session, std::string prompt);
  ~TextStream();
  TextStream(TextStream&&) noexcept;
  TextStream& operator=(TextStream&&) = delete;
  TextStream(const TextStream&) = delete;
  TextStream& operator=(const TextStream&) = delete;

  /// Starts at most once.
  iterator begin();
  std::default_sentinel_t end() const noexcept { return {}; }

  struct State;

 private:
  std::shared_ptr<State> state_{};
};

/// A session without tools (the reference's Generate).
Session generate(SessionOptions options = {});

/// A function from prompt to parsed JSON (the reference's GenerateJSON). Each call is a fresh
/// one-turn conversation. The answer is checked against options.response_schema when set. The
/// function may be called from several threads at once.
/// @throws (from the function) Error(Errc::protocol) when the answer is not JSON or does not match.
std::function<Json(std::string_view prompt)> generate_json(SessionOptions options = {});

/// Typed generate_json<T>() (a described struct as the output schema) is in polaris/typed.hpp.

/// Checks `value` against a wire schema (types, required, enum, items, properties); returns the
/// first mismatch as "path: problem", or std::nullopt when it matches.
std::optional<std::string> check_against_schema(const Json& value, const Json& wire_schema);

}  // namespace polaris
