// Model API answers as the LLM sessions read them: Gemini (API and Vertex AI), OpenAI-compatible
// and Anthropic Messages answers, whole or streamed as Server-Sent Events, and the error bodies of
// failed requests (error messages, Retry-After and Gemini's RetryInfo). A model server, or
// whatever sits between us and it, controls every byte.
// Input: one byte that picks the parser (low 3 bits) and whether the text callback stops early,
// then the HTTP body.
#include <string>

#include "common/untrusted_json.hpp"
#include "fuzz_support.hpp"
#include "http/sse.hpp"
#include "llm/anthropic.hpp"
#include "llm/api_client.hpp"
#include "llm/gemini.hpp"
#include "llm/openai.hpp"
#include "polaris/error.hpp"

namespace {

using polaris::Json;
namespace llm = polaris::llm;

// Feeds an SSE body to `on_data` per event, as the providers' run_turn does (and as they do,
// parses with parse_untrusted_json, like ApiClient::post).
template <typename OnData>
void stream(std::string_view body, OnData on_data) {
  polaris::http::SseParser parser(
      [&](const polaris::http::SseEvent& event) { on_data(event.data); });
  parser.feed(body);
  parser.finish();
}

Json chunk_of(const std::string& data) {
  Json chunk = polaris::detail::parse_untrusted_json(data);
  if (chunk.is_discarded() || !chunk.is_object()) {
    throw polaris::Error(polaris::Errc::protocol, "stream event is not JSON");
  }
  return chunk;
}

void check_calls(const std::vector<llm::FunctionCall>& calls) {
  for (const auto& call : calls) {
    if (!call.arguments.is_object()) polaris::fuzz::broken("call arguments are not an object");
    (void)call.arguments.dump();
  }
}

void gemini(std::string_view body, bool streamed, const llm::TextCallback& on_text) {
  llm::GeminiAnswer answer("gemini", true);
  if (streamed) {
    stream(body, [&](const std::string& data) {
      if (!answer.stopped()) answer.absorb(chunk_of(data), on_text);
    });
  } else {
    const Json whole = polaris::detail::parse_untrusted_json(body);
    if (whole.is_discarded() || !whole.is_object()) return;  // ApiClient refuses these
    answer.absorb(whole, on_text);
  }
  polaris::Usage usage;
  answer.fold_usage(usage);
  if (answer.stopped()) return;
  check_calls(answer.calls());
  (void)answer.parts().dump();
}

void openai(std::string_view body, bool streamed, const llm::TextCallback& on_text) {
  llm::OpenAiAnswer answer(true);
  polaris::Usage usage;
  if (streamed) {
    stream(body, [&](const std::string& data) {
      if (!answer.stopped() && data != "[DONE]")
        answer.absorb_chunk(chunk_of(data), on_text, usage);
    });
  } else {
    const Json whole = polaris::detail::parse_untrusted_json(body);
    if (whole.is_discarded()) return;  // ApiClient refuses it
    answer.absorb_answer(whole, on_text, usage);
  }
  if (answer.stopped()) return;
  Json message;
  check_calls(answer.finish(message));
  (void)message.dump();
}

void anthropic(std::string_view body, bool streamed, const llm::TextCallback& on_text) {
  llm::AnthropicAnswer answer(true);
  if (streamed) {
    stream(body, [&](const std::string& data) {
      if (!answer.stopped()) answer.absorb_event(chunk_of(data), on_text);
    });
  } else {
    const Json whole = polaris::detail::parse_untrusted_json(body);
    if (whole.is_discarded()) return;  // ApiClient refuses it
    answer.absorb_message(whole, on_text);
  }
  polaris::Usage usage;
  answer.fold_usage(usage);
  if (answer.stopped()) return;
  Json content;
  check_calls(answer.finish(content));
  (void)content.dump();
}

void error_body(std::string_view body, std::uint8_t selector) {
  polaris::http::Response response;
  response.status = 400 + selector;  // 400..655: client errors, 429, server errors
  response.body = std::string(body);
  // Retry-After comes from the same server: the first line of the body stands in for it.
  response.headers["retry-after"] = std::string(body.substr(0, body.find('\n')));
  response.headers["retry-after-ms"] = response.headers["retry-after"];
  (void)llm::provider_error("fuzz", response);
  (void)llm::server_retry_delay(response);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view body = polaris::fuzz::as_text(data + 1, size - 1);
  const bool stop_early = (selector & 0x80U) != 0;
  int pieces = 0;
  const llm::TextCallback on_text = [&](std::string_view text) {
    if (text.empty()) polaris::fuzz::broken("empty text piece");
    return !(stop_early && ++pieces == 2);
  };
  try {
    switch (selector & 0x7U) {
      case 0:
        gemini(body, false, on_text);
        break;
      case 1:
        gemini(body, true, on_text);
        break;
      case 2:
        openai(body, false, on_text);
        break;
      case 3:
        openai(body, true, on_text);
        break;
      case 6:
        anthropic(body, false, on_text);
        break;
      case 7:
        anthropic(body, true, on_text);
        break;
      default:
        error_body(body, selector);
        break;
    }
  } catch (const polaris::Error&) {  // a refused, blocked or malformed answer: documented
  }
  return 0;
}
