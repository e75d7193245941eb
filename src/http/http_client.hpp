// http/http_client.hpp - blocking HTTP requests over libcurl, with streaming of the body.
//
// Internal: shared by the LLM providers and (later) the MCP client. No curl type leaks out.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polaris::http {

struct Request {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  ///< name, value
  std::string body;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds timeout{0};  ///< whole request; 0: none
  /// Polled while the transfer runs (several times a second); returning true aborts it, and the
  /// response comes back with aborted set. Empty: never.
  std::function<bool()> cancelled;
  /// The most bytes of body collected into Response::body (a non-2xx body, or any body without a
  /// streaming callback); a longer body stops the transfer with Error(Errc::payload_too_large),
  /// so a server sending without end cannot exhaust memory. 0: no limit.
  std::size_t max_body = 0;
};

struct Response {
  long status = 0;
  /// Header names lower-cased; the last value wins for repeated headers.
  std::map<std::string, std::string> headers;
  /// The body, unless it was streamed to on_body (2xx with a callback).
  std::string body;
  /// The callback returned false and the transfer was stopped.
  bool aborted = false;

  [[nodiscard]] std::string header(const std::string& lower_name) const;
};

/// Called with each piece of a 2xx body as it arrives; return false to stop the transfer.
using BodyCallback = std::function<bool(std::string_view)>;

/// Performs one request. A non-2xx body is always collected in Response::body (never streamed).
/// @throws Error(Errc::connection_failed) on transport failures (DNS, connect, TLS, timeout),
///         Error(Errc::payload_too_large) for a collected body over Request::max_body, and what
///         on_body throws.
/// Thread safety: free function; each call uses its own curl handle.
Response perform(const Request& request, const BodyCallback& on_body = {});

/// Percent-encodes a URL path segment or query value.
std::string url_encode(std::string_view text);

}  // namespace polaris::http
