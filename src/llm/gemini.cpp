// llm/gemini.cpp - conversation, request building and (streamed) answer parsing for Gemini.
#include "llm/gemini.hpp"

#include <spdlog/spdlog.h>

#include "common/untrusted_json.hpp"
#include "http/http_client.hpp"
#include "http/sse.hpp"
#include "llm/base64.hpp"
#include "llm/json_fields.hpp"
#include "llm/model_path.hpp"

namespace polaris::llm {
namespace {

// Finish reasons that mean the answer was cut off or refused; STOP and MAX_TOKENS are normal
// (MAX_TOKENS is logged).
std::string finish_problem(const std::string& reason) {
  if (reason.empty() || reason == "STOP" || reason == "MAX_TOKENS" ||
      reason == "FINISH_REASON_UNSPECIFIED") {
    return {};
  }
  if (reason == "MALFORMED_FUNCTION_CALL" || reason == "UNEXPECTED_TOOL_CALL") {
    return "the model produced a malformed function call (" + reason + ")";
  }
  return "the model stopped its answer: " + reason;
}

bool is_plain_text(const Json& part) {
  for (const auto& [key, value] : part.items()) {
    if (key != "text" && key != "thought") return false;
  }
  const auto text = part.find("text");
  return text != part.end() && text->is_string();
}

// Whether a part is a thought; anything but `true` is not (the model's server controls the JSON).
bool is_thought(const Json& part) {
  const auto thought = part.find("thought");
  return thought != part.end() && thought->is_boolean() && thought->get<bool>();
}

class Gemini final : public ModelProvider {
 public:
  Gemini(const SessionOptions& options, GeminiEndpoint endpoint, std::function<bool()> cancelled)
      : options_(options),
        endpoint_(std::move(endpoint)),
        logger_(options.logger ? options.logger : spdlog::default_logger()),
        api_([&] {
          auto api = ApiClient::Options::for_session(options, endpoint_.name, endpoint_.auth,
                                                     std::move(cancelled), logger_);
          api.auth_refreshable = endpoint_.auth_refreshable;  // OAuth tokens (Vertex)
          return api;
        }()) {}

  void add_user_text(std::string_view text) override {
    contents_.push_back({{"role", "user"}, {"parts", Json::array({{{"text", text}}})}});
  }

  Turn run_turn(const std::vector<ToolSpec>& tools, const TextCallback& on_text) override {
    const Json body = gemini_request(options_, contents_, tools);
    GeminiAnswer answer(endpoint_.name, options_.show_thoughts);
    bool completed = true;
    if (options_.stream) {
      http::SseParser parser([&](const http::SseEvent& event) {
        if (answer.stopped()) return;
        Json chunk = polaris::detail::parse_untrusted_json(event.data);
        if (chunk.is_discarded() || !chunk.is_object()) {
          throw Error(Errc::protocol, endpoint_.name + ": stream event is not JSON");
        }
        answer.absorb(chunk, on_text);
      });
      completed = api_.post_stream(endpoint_.model_url + ":streamGenerateContent?alt=sse", body,
                                   [&](std::string_view bytes) {
                                     parser.feed(bytes);
                                     return !answer.stopped();
                                   });
      if (completed) parser.finish();
    } else {
      const Json whole = api_.post(endpoint_.model_url + ":generateContent", body);
      if (whole.is_null()) {
        completed = false;
      } else {
        if (!whole.is_object()) throw Error(Errc::protocol, endpoint_.name + ": bad answer");
        answer.absorb(whole, on_text);
      }
    }
    answer.fold_usage(usage_);
    Turn turn;
    if (!completed || answer.stopped()) {
      turn.stopped = true;
      return turn;
    }
    if (answer.finish_reason() == "MAX_TOKENS") {
      logger_->warn("{}: the answer reached max_output_tokens and was cut", endpoint_.name);
    }
    turn.calls = answer.calls();
    // The model's turn goes back exactly as received: Gemini 3 rejects the next request when a
    // thought signature or call id is missing.
    contents_.push_back({{"role", "model"}, {"parts", answer.parts()}});
    return turn;
  }

  void add_function_results(const std::vector<FunctionCall>& calls,
                            const std::vector<FunctionResult>& results) override {
    Json parts = Json::array();
    for (std::size_t i = 0; i < calls.size(); ++i) {
      Json response = results[i].response;
      if (!response.is_object()) response = Json{{"result", response}};  // must be an object
      Json fr = {{"name", calls[i].name}, {"response", response}};
      if (!calls[i].id.empty()) fr["id"] = calls[i].id;
      parts.push_back({{"functionResponse", fr}});
    }
    contents_.push_back({{"role", "user"}, {"parts", parts}});
  }

  [[nodiscard]] std::size_t history_size() const override { return contents_.size(); }
  void truncate_history(std::size_t size) override {
    if (size < contents_.size())
      contents_.erase(contents_.begin() + static_cast<long>(size), contents_.end());
  }
  [[nodiscard]] Usage usage() const override { return usage_; }

 private:
  SessionOptions options_;
  GeminiEndpoint endpoint_;
  Logger logger_;
  ApiClient api_;
  Json contents_ = Json::array();
  Usage usage_;
};

}  // namespace

void GeminiAnswer::absorb(const Json& answer, const TextCallback& on_text) {
  if (const auto e = answer.find("error"); e != answer.end()) {
    throw Error(Errc::protocol, name_ + ": error in stream: " + e->dump());
  }
  if (const auto pf = answer.find("promptFeedback"); pf != answer.end() && pf->is_object()) {
    if (const auto br = pf->find("blockReason"); br != pf->end() && br->is_string()) {
      throw Error(Errc::protocol, name_ + ": the prompt was blocked: " + br->get<std::string>());
    }
  }
  if (const auto um = answer.find("usageMetadata"); um != answer.end() && um->is_object()) {
    // Streamed chunks repeat the running totals: keep the last per request.
    last_usage_ = *um;
  }
  const auto candidates = answer.find("candidates");
  if (candidates == answer.end() || !candidates->is_array() || candidates->empty()) return;
  const Json& candidate = (*candidates)[0];
  if (const auto fr = candidate.find("finishReason"); fr != candidate.end() && fr->is_string()) {
    finish_reason_ = fr->get<std::string>();
  }
  const auto content = candidate.find("content");
  if (content == candidate.end() || !content->is_object()) return;
  const auto parts = content->find("parts");
  if (parts == content->end() || !parts->is_array()) return;
  for (const auto& part : *parts) {
    if (!part.is_object()) continue;
    const auto text = part.find("text");
    if (text != part.end() && text->is_string()) {
      const bool thought = is_thought(part);
      const auto& s = text->get_ref<const std::string&>();
      if (!s.empty() && (!thought || show_thoughts_) && !stopped_) {
        if (!on_text(s)) stopped_ = true;
      }
      if (s.empty() && part.size() == 1) continue;  // an empty streamed piece carries nothing
    }
    add_part(part);
  }
}

// Joins streamed text pieces into one part so the history stays as compact as a sync answer.
void GeminiAnswer::add_part(const Json& part) {
  if (is_plain_text(part) && !parts_.empty() && is_plain_text(parts_.back()) &&
      is_thought(parts_.back()) == is_thought(part)) {
    parts_.back()["text"] =
        parts_.back()["text"].get<std::string>() + part["text"].get<std::string>();
    return;
  }
  parts_.push_back(part);
}

void GeminiAnswer::fold_usage(Usage& usage) {
  if (last_usage_.is_null()) return;
  usage.requests += 1;
  usage.input_tokens += token_count(last_usage_, "promptTokenCount");
  usage.output_tokens += token_count(last_usage_, "candidatesTokenCount");
  usage.thinking_tokens += token_count(last_usage_, "thoughtsTokenCount");
  usage.total_tokens += token_count(last_usage_, "totalTokenCount");
  last_usage_ = Json();
}

std::vector<FunctionCall> GeminiAnswer::calls() const {
  if (const auto problem = finish_problem(finish_reason_); !problem.empty()) {
    throw Error(Errc::protocol, name_ + ": " + problem);
  }
  std::vector<FunctionCall> calls;
  for (const auto& part : parts_) {
    if (!part.contains("functionCall")) continue;
    const Json& fc = part["functionCall"];
    FunctionCall call;
    call.name = string_field(fc, "name");
    call.id = string_field(fc, "id");
    if (const auto a = fc.find("args"); a != fc.end() && a->is_object()) call.arguments = *a;
    calls.push_back(std::move(call));
  }
  if (parts_.empty()) {
    throw Error(Errc::protocol, name_ + ": the model answered nothing" +
                                    (finish_reason_.empty() ? "" : " (" + finish_reason_ + ")"));
  }
  return calls;
}

GeminiEndpoint gemini_api_endpoint(const SessionOptions& options) {
  GeminiEndpoint endpoint;
  std::string base = options.base_url;
  endpoint.model_url = strip_slash(base) + "/v1beta/" + model_path(options.model);
  const std::string key = options.api_key;
  endpoint.auth = [key](bool) { return Headers{{"x-goog-api-key", key}}; };
  return endpoint;
}

Json gemini_request(const SessionOptions& options, const Json& contents,
                    const std::vector<ToolSpec>& tools) {
  Json body = {{"contents", contents}};
  Json system_parts = Json::array();
  if (!options.system.empty()) system_parts.push_back({{"text", options.system}});
  if (options.system_data) {
    system_parts.push_back({{"inlineData",
                             {{"mimeType", options.system_data->mime_type},
                              {"data", base64_encode(options.system_data->data)}}}});
  }
  if (!system_parts.empty()) body["systemInstruction"] = {{"parts", system_parts}};

  if (!tools.empty()) {
    Json declarations = Json::array();
    for (const auto& tool : tools) {
      Json d = {{"name", tool.name}};
      if (!tool.description.empty()) d["description"] = tool.description;
      if (!tool.parameters.is_null()) d["parameters"] = tool.parameters;
      declarations.push_back(std::move(d));
    }
    body["tools"] = Json::array({{{"functionDeclarations", declarations}}});
    body["toolConfig"] = {{"functionCallingConfig", {{"mode", "AUTO"}}}};
  }

  Json config = Json::object();
  config["temperature"] = options.temperature.value_or(0.2);
  config["topP"] = options.top_p.value_or(0.95);
  config["maxOutputTokens"] = options.max_output_tokens.value_or(8192);
  if (options.json_output) {
    config["responseMimeType"] = "application/json";
    if (!options.response_schema.empty())
      config["responseSchema"] = options.response_schema.to_json();
  }
  Json thinking = Json::object();
  if (options.thinking_budget) thinking["thinkingBudget"] = *options.thinking_budget;
  if (!options.thinking_level.empty()) thinking["thinkingLevel"] = options.thinking_level;
  if (options.show_thoughts) thinking["includeThoughts"] = true;
  if (!thinking.empty()) config["thinkingConfig"] = thinking;
  body["generationConfig"] = config;
  return body;
}

std::unique_ptr<ModelProvider> make_gemini(const SessionOptions& options, GeminiEndpoint endpoint,
                                           std::function<bool()> cancelled) {
  return std::make_unique<Gemini>(options, std::move(endpoint), std::move(cancelled));
}

}  // namespace polaris::llm
