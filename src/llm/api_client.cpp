// llm/api_client.cpp
#include "llm/api_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <thread>

#include "common/message_limit.hpp"
#include "common/untrusted_json.hpp"

namespace polaris::llm {
namespace {

// Parses Gemini's duration strings such as "30s" or "1.500s".
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  if (text.empty() || text.back() != 's') return std::nullopt;
  try {
    const double seconds = std::stod(text.substr(0, text.size() - 1));
    // NaN, negative or absurd (casting beyond the integers is undefined): no usable delay.
    if (!(seconds >= 0 && seconds <= 1e9)) return std::nullopt;
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value) {
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::chrono::seconds(std::stoll(value.substr(0, 9)));
  }
  std::tm tm{};  // HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT"
  if (strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return std::nullopt;
  // In whole seconds of time_t: a date centuries away overflows the clock's nanoseconds.
  const std::time_t when = timegm(&tm);
  const std::time_t now = std::time(nullptr);
  if (when == static_cast<std::time_t>(-1) || when <= now) return std::chrono::milliseconds(0);
  const auto wait =
      std::chrono::system_clock::from_time_t(std::min<std::time_t>(when, now + 1000000000)) -
      std::chrono::system_clock::now();
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(wait));
}

std::string truncate(std::string text, std::size_t max) {
  if (text.size() > max) text = text.substr(0, max) + "...";
  return text;
}

}  // namespace

bool is_retryable_status(long status) noexcept {
  // 529: Anthropic's "overloaded".
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504 || status == 529;
}

std::optional<std::chrono::milliseconds> server_retry_delay(const http::Response& response) {
  // Anthropic also sends retry-after-ms, finer than retry-after's whole seconds.
  if (const std::string ms = response.header("retry-after-ms");
      !ms.empty() && ms.size() <= 9 &&
      std::all_of(ms.begin(), ms.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::chrono::milliseconds(std::stoll(ms));
  }
  if (auto delay = parse_retry_after(response.header("retry-after"))) return delay;
  const Json body = polaris::detail::parse_untrusted_json(response.body);
  if (body.is_discarded() || !body.is_object()) return std::nullopt;
  const Json* details = nullptr;
  if (const auto e = body.find("error"); e != body.end() && e->is_object()) {
    if (const auto d = e->find("details"); d != e->end() && d->is_array()) details = &*d;
  }
  if (details == nullptr) return std::nullopt;
  for (const auto& detail : *details) {
    if (detail.is_object() && detail.contains("@type") &&
        detail["@type"] == "type.googleapis.com/google.rpc.RetryInfo" &&
        detail.contains("retryDelay") && detail["retryDelay"].is_string()) {
      return parse_duration(detail["retryDelay"].get<std::string>());
    }
  }
  return std::nullopt;
}

ProviderError provider_error(std::string_view provider, const http::Response& response) {
  std::string code;
  std::string message;
  const Json body = polaris::detail::parse_untrusted_json(response.body);
  // Gemini: {"error":{"code":400,"message":"...","status":"INVALID_ARGUMENT"}}
  // OpenAI: {"error":{"message":"...","type":"...","code":"invalid_api_key"}}
  // Anthropic: {"type":"error","error":{"type":"authentication_error","message":"..."}}
  // Some servers answer a list of such objects.
  const Json* error = nullptr;
  if (!body.is_discarded()) {
    const Json& root = body.is_array() && !body.empty() ? body[0] : body;
    if (root.is_object() && root.contains("error") && root["error"].is_object()) {
      error = &root["error"];
    } else if (root.is_object() && root.contains("error") && root["error"].is_string()) {
      message = root["error"].get<std::string>();  // Ollama: {"error":"model not found"}
    }
  }
  if (error != nullptr) {
    if (const auto s = error->find("status"); s != error->end() && s->is_string()) {
      code = s->get<std::string>();
    } else if (const auto c = error->find("code"); c != error->end() && c->is_string()) {
      code = c->get<std::string>();
    } else if (const auto t = error->find("type"); t != error->end() && t->is_string()) {
      code = t->get<std::string>();
    }
    if (const auto m = error->find("message"); m != error->end() && m->is_string()) {
      message = m->get<std::string>();
    }
  }
  if (message.empty()) message = truncate(response.body, 200);
  // One line: provider messages sometimes end in newlines.
  std::replace(message.begin(), message.end(), '\n', ' ');
  while (!message.empty() && message.back() == ' ') message.pop_back();
  std::string text = std::string(provider) + ": HTTP " + std::to_string(response.status);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  const Errc errc = is_retryable_status(response.status) || response.status >= 500
                        ? Errc::connection_failed
                        : Errc::invalid_argument;
  return ProviderError(errc, text, static_cast<int>(response.status), code);
}

ApiClient::ApiClient(Options options) : options_(std::move(options)), rng_(std::random_device{}()) {
  if (!options_.logger) options_.logger = spdlog::default_logger();
  if (options_.retry.max_attempts < 1) options_.retry.max_attempts = 1;
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
}

std::chrono::milliseconds ApiClient::backoff(int attempt, const http::Response* response) {
  const auto cap = options_.retry.max_backoff;
  if (response != nullptr) {
    if (auto server = server_retry_delay(*response)) return std::min(*server, cap);
  }
  auto delay = options_.retry.initial_backoff;
  for (int i = 1; i < attempt && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  // Full jitter over the upper half keeps clients that failed together from retrying together.
  const auto half = delay.count() / 2;
  std::uniform_int_distribution<std::int64_t> dist(half,
                                                   std::max<std::int64_t>(half, delay.count()));
  return std::chrono::milliseconds(dist(rng_));
}

http::Response ApiClient::send(const std::string& url, const Json& body,
                               const http::BodyCallback* on_body) {
  http::Request request;
  request.url = url;
  request.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  request.connect_timeout = options_.connect_timeout;
  request.timeout = options_.request_timeout;
  request.cancelled = options_.cancelled;
  // An error body (or an answer read whole) is collected in memory: bound it as every other
  // message from a peer we do not control (streamed answers are bounded by the SSE parser).
  request.max_body = detail::kMaxMessageBytes;
  if (options_.debug) {
    options_.logger->info("{} request POST {}: {}", options_.provider_name, url, request.body);
  }

  bool refreshed = false;
  for (int attempt = 1;; ++attempt) {
    request.headers = {{"Content-Type", "application/json"}};
    if (options_.auth) {
      for (auto& h : options_.auth(refreshed)) request.headers.push_back(std::move(h));
    }
    bool streamed_any = false;
    http::BodyCallback tracking;
    if (on_body != nullptr) {
      tracking = [&](std::string_view bytes) {
        streamed_any = true;
        return (*on_body)(bytes);
      };
    }
    http::Response response;
    try {
      response = http::perform(request, tracking);
    } catch (const Error& e) {
      if (e.code() != Errc::connection_failed || streamed_any ||
          attempt >= options_.retry.max_attempts) {
        throw;
      }
      const auto delay = backoff(attempt, nullptr);
      options_.logger->warn("{}: {}; retry {} in {} ms", options_.provider_name, e.what(), attempt,
                            delay.count());
      options_.sleep(delay);
      continue;
    }
    if (options_.debug) {
      options_.logger->info("{} response HTTP {}: {}", options_.provider_name, response.status,
                            truncate(response.body, 4000));
    }
    if (response.aborted || (response.status >= 200 && response.status < 300)) return response;
    if (response.status == 401 && options_.auth_refreshable && !refreshed) {
      refreshed = true;  // an expired or revoked access token: mint a new one, once
      --attempt;
      continue;
    }
    if (!is_retryable_status(response.status) || attempt >= options_.retry.max_attempts) {
      throw provider_error(options_.provider_name, response);
    }
    const auto delay = backoff(attempt, &response);
    options_.logger->warn("{}: HTTP {}; retry {} in {} ms", options_.provider_name, response.status,
                          attempt, delay.count());
    options_.sleep(delay);
  }
}

Json ApiClient::post(const std::string& url, const Json& body) {
  const http::Response response = send(url, body, nullptr);
  if (response.aborted) return Json();  // cancelled
  Json json = polaris::detail::parse_untrusted_json(response.body);
  if (json.is_discarded()) {
    throw Error(Errc::protocol,
                options_.provider_name + ": answer is not JSON: " + truncate(response.body, 200));
  }
  return json;
}

bool ApiClient::post_stream(const std::string& url, const Json& body,
                            const http::BodyCallback& on_body) {
  return !send(url, body, &on_body).aborted;
}

}  // namespace polaris::llm
