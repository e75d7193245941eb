// llm/vertex_auth.hpp - OAuth2 access tokens for Vertex AI from a Google credentials file.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "polaris/json.hpp"

namespace polaris::llm {

/// Signs `header.claims` with RS256 (the PEM private key of a service account) and returns the
/// compact JWT. @throws Error(Errc::invalid_argument) for a bad key.
std::string sign_jwt_rs256(const Json& header, const Json& claims, const std::string& pem_key);

/// How long a token of the endpoint's `answer` lives: its `expires_in` (3600 s when absent),
/// fractions cut, clamped to at most a day.
/// @throws Error(Errc::protocol) when expires_in is not a number or not positive.
std::chrono::seconds token_lifetime(const Json& answer);

/// How long after minting a token of `lifetime` a new one is minted: five minutes before it
/// expires, or half way through a token that lives less than ten minutes (which would otherwise
/// be minted again on every call).
std::chrono::milliseconds refresh_after(std::chrono::seconds lifetime);

/// Mints and caches access tokens. Service-account keys: an RS256-signed JWT exchanged at the
/// key's `token_uri` (jwt-bearer grant). Authorized-user files (gcloud): a refresh-token grant.
/// A token is reused until refresh_after() its minting.
///
/// Thread safety: token() may be called from several threads at once (a mutex serialises minting).
class TokenSource {
 public:
  /// Reads the credentials file now, so that a bad file fails at session creation.
  /// @throws Error(Errc::invalid_argument) when the file is missing or not usable.
  explicit TokenSource(const std::string& credentials_file,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// A valid access token; `force_refresh` mints a new one (after a 401).
  /// @throws Error(Errc::connection_failed) or ProviderError when the exchange fails.
  std::string token(bool force_refresh = false);

 private:
  std::string mint(std::chrono::system_clock::time_point now);

  Json credentials_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::string token_;                                   // guarded by mutex_
  std::chrono::system_clock::time_point refresh_at_{};  // guarded by mutex_
};

}  // namespace polaris::llm
