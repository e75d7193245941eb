// llm/api_client.hpp - POSTs JSON to a provider with retries, auth refresh and error mapping.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "http/http_client.hpp"
#include "polaris/json.hpp"
#include "polaris/llm.hpp"
#include "polaris/logging.hpp"

namespace polaris::llm {

/// A base URL without its trailing slashes, ready for a path to be appended.
inline std::string strip_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Supplies auth headers for each attempt; `refresh` is true after a 401 (once per request).
using AuthHeaders = std::function<Headers(bool refresh)>;

/// Whether a status is worth retrying (408, 429, 500, 502, 503, 504, 529).
bool is_retryable_status(long status) noexcept;

/// The server's requested delay: retry-after-ms (Anthropic), Retry-After (seconds or HTTP date)
/// or Gemini's RetryInfo
/// `retryDelay` ("1.5s") in an error body; std::nullopt when neither is present.
std::optional<std::chrono::milliseconds> server_retry_delay(const http::Response& response);

/// Maps an error response to ProviderError (reads Gemini's, OpenAI's and Anthropic's error
/// bodies).
ProviderError provider_error(std::string_view provider, const http::Response& response);

/// Thread safety: none (one per session).
class ApiClient {
 public:
  struct Options {
    std::string provider_name;  ///< for messages, e.g. "gemini"
    RetryOptions retry;
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds request_timeout{0};
    AuthHeaders auth;               ///< empty: none
    bool auth_refreshable = false;  ///< a 401 is retried once with auth(true) (OAuth tokens)
    /// Polled during a transfer; true stops it (the send counts as stopped).
    std::function<bool()> cancelled;
    Logger logger;
    bool debug = false;
    /// Waits between attempts; empty: std::this_thread::sleep_for. Tests record delays here.
    std::function<void(std::chrono::milliseconds)> sleep;

    /// What every provider takes from its session: retries, timeouts, logging.
    static Options for_session(const SessionOptions& session, std::string provider_name,
                               AuthHeaders auth, std::function<bool()> cancelled, Logger logger) {
      return {.provider_name = std::move(provider_name),
              .retry = session.retry,
              .connect_timeout = session.connect_timeout,
              .request_timeout = session.request_timeout,
              .auth = std::move(auth),
              .auth_refreshable = false,
              .cancelled = std::move(cancelled),
              .logger = std::move(logger),
              .debug = session.debug,
              .sleep = {}};
    }
  };

  explicit ApiClient(Options options);

  /// POSTs `body` and returns the parsed JSON answer (null when cancelled).
  /// @throws ProviderError, Error(Errc::connection_failed), Error(Errc::protocol).
  Json post(const std::string& url, const Json& body);

  /// POSTs `body` and streams a 2xx answer to `on_body`; retries happen only before the first
  /// byte arrived. Returns false when `on_body` stopped the transfer.
  bool post_stream(const std::string& url, const Json& body, const http::BodyCallback& on_body);

 private:
  http::Response send(const std::string& url, const Json& body, const http::BodyCallback* on_body);
  std::chrono::milliseconds backoff(int attempt, const http::Response* response);

  Options options_;
  std::minstd_rand rng_;
};

}  // namespace polaris::llm
