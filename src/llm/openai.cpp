// llm/openai.cpp - conversation, request building and (streamed) answer parsing for Chat
// Completions.
#include "llm/openai.hpp"

#include <spdlog/spdlog.h>

#include "common/untrusted_json.hpp"
#include "http/sse.hpp"
#include "llm/api_client.hpp"
#include "llm/json_fields.hpp"
#include "llm/json_schema.hpp"

namespace polaris::llm {
namespace {

void add_usage(const Json& answer, Usage& usage) {
  const Json& u = field(answer, "usage");
  if (!u.is_object()) return;
  usage.requests += 1;
  usage.input_tokens += token_count(u, "prompt_tokens");
  usage.output_tokens += token_count(u, "completion_tokens");
  usage.total_tokens += token_count(u, "total_tokens");
  usage.thinking_tokens += token_count(field(u, "completion_tokens_details"), "reasoning_tokens");
}

void check_error(const Json& answer) {
  if (const auto e = answer.find("error"); e != answer.end() && !e->is_null()) {
    const std::string message = e->is_object() ? string_field(*e, "message") : e->dump();
    throw Error(Errc::protocol, "openai: error in answer: " + message);
  }
}

// A streamed tool call fragment's `index`; 0 when it is not an int (a float cast could overflow).
int call_index(const Json& fragment) {
  const Json& index = field(fragment, "index");
  if (index.is_number_unsigned()) {
    return index.get<std::uint64_t>() <= 0x7fffffffU ? static_cast<int>(index.get<std::uint64_t>())
                                                     : 0;
  }
  if (index.is_number_integer() && index.get<std::int64_t>() >= -0x7fffffff - 1) {
    return static_cast<int>(index.get<std::int64_t>());
  }
  return 0;
}

class OpenAi final : public ModelProvider {
 public:
  OpenAi(const SessionOptions& options, std::function<bool()> cancelled)
      : options_(options),
        logger_(options.logger ? options.logger : spdlog::default_logger()),
        api_(ApiClient::Options::for_session(options, "openai", auth(options.api_key),
                                             std::move(cancelled), logger_)),
        url_(strip_slash(options.base_url) + "/chat/completions") {}

  void add_user_text(std::string_view text) override {
    messages_.push_back({{"role", "user"}, {"content", text}});
  }

  Turn run_turn(const std::vector<ToolSpec>& tools, const TextCallback& on_text) override {
    Json body = openai_request(options_, messages_, tools);
    OpenAiAnswer answer(options_.show_thoughts);
    bool completed = true;
    if (options_.stream) {
      http::SseParser parser([&](const http::SseEvent& event) {
        if (answer.stopped() || event.data == "[DONE]") return;
        Json chunk = polaris::detail::parse_untrusted_json(event.data);
        if (chunk.is_discarded() || !chunk.is_object()) {
          throw Error(Errc::protocol, "openai: stream event is not JSON");
        }
        answer.absorb_chunk(chunk, on_text, usage_);
      });
      completed = api_.post_stream(url_, body, [&](std::string_view bytes) {
        parser.feed(bytes);
        return !answer.stopped();
      });
      if (completed) parser.finish();
    } else {
      const Json whole = api_.post(url_, body);
      if (whole.is_null()) {
        completed = false;
      } else {
        answer.absorb_answer(whole, on_text, usage_);
      }
    }
    Turn turn;
    if (!completed || answer.stopped()) {
      turn.stopped = true;
      return turn;
    }
    Json message;
    turn.calls = answer.finish(message);
    if (answer.finish_reason() == "length") {
      logger_->warn("openai: the answer reached the output token limit and was cut");
    }
    messages_.push_back(std::move(message));
    return turn;
  }

  void add_function_results(const std::vector<FunctionCall>& calls,
                            const std::vector<FunctionResult>& results) override {
    for (std::size_t i = 0; i < calls.size(); ++i) {
      messages_.push_back({{"role", "tool"},
                           {"tool_call_id", calls[i].id},
                           {"content", results[i].response.dump()}});
    }
  }

  [[nodiscard]] std::size_t history_size() const override { return messages_.size(); }
  void truncate_history(std::size_t size) override {
    if (size < messages_.size())
      messages_.erase(messages_.begin() + static_cast<long>(size), messages_.end());
  }
  [[nodiscard]] Usage usage() const override { return usage_; }

 private:
  static AuthHeaders auth(const std::string& key) {
    if (key.empty()) return {};  // local servers (Ollama) need none
    return [key](bool) { return Headers{{"Authorization", "Bearer " + key}}; };
  }

  SessionOptions options_;
  Logger logger_;
  ApiClient api_;
  std::string url_;
  Json messages_ = Json::array();
  Usage usage_;
};

std::string system_text(const SessionOptions& options) {
  std::string text = options.system;
  if (options.system_data) {
    if (options.system_data->mime_type.rfind("text/", 0) != 0) {
      throw Error(Errc::invalid_argument,
                  "openai: binary system instructions must have a text/* MIME type, not " +
                      options.system_data->mime_type);
    }
    if (!text.empty()) text += "\n\n";
    text += options.system_data->data;
  }
  return text;
}

}  // namespace

void OpenAiAnswer::emit(const std::string& piece, bool thought, const TextCallback& on_text) {
  if (piece.empty() || stopped_) return;
  if (thought && !show_thoughts_) return;
  if (!on_text(piece)) stopped_ = true;
}

void OpenAiAnswer::absorb_answer(const Json& answer, const TextCallback& on_text, Usage& usage) {
  if (!answer.is_object()) throw Error(Errc::protocol, "openai: answer is not an object");
  check_error(answer);
  add_usage(answer, usage);
  const auto choices = answer.find("choices");
  if (choices == answer.end() || !choices->is_array() || choices->empty()) {
    throw Error(Errc::protocol, "openai: answer without choices");
  }
  const Json& choice = (*choices)[0];
  finish_reason_ = string_field(choice, "finish_reason");
  const Json& message = field(choice, "message");
  emit(string_field(message, "reasoning_content"), true, on_text);
  text_ = string_field(message, "content");
  emit(text_, false, on_text);
  refusal_ = string_field(message, "refusal");
  if (const auto tc = message.find("tool_calls"); tc != message.end() && tc->is_array()) {
    int index = 0;
    for (const auto& call : *tc) {
      if (!call.is_object()) continue;  // not a call
      const Json& fn = field(call, "function");
      const Json& args = field(fn, "arguments");
      calls_[index++] = {string_field(call, "id"), string_field(fn, "name"),
                         args.is_string() ? args.get<std::string>() : args.dump()};
    }
  }
}

void OpenAiAnswer::absorb_chunk(const Json& chunk, const TextCallback& on_text, Usage& usage) {
  check_error(chunk);
  add_usage(chunk, usage);  // only the last chunk carries usage (stream_options.include_usage)
  const auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array() || choices->empty()) return;
  const Json& choice = (*choices)[0];
  if (const auto fr = choice.find("finish_reason"); fr != choice.end() && fr->is_string()) {
    finish_reason_ = fr->get<std::string>();
  }
  const Json& delta = field(choice, "delta");
  if (!delta.is_object()) return;
  // reasoning_content (DeepSeek, vLLM) and reasoning (Ollama, OpenRouter) are thoughts.
  emit(string_field(delta, "reasoning_content"), true, on_text);
  emit(string_field(delta, "reasoning"), true, on_text);
  const std::string piece = string_field(delta, "content");
  text_ += piece;
  emit(piece, false, on_text);
  refusal_ += string_field(delta, "refusal");
  if (const auto tc = delta.find("tool_calls"); tc != delta.end() && tc->is_array()) {
    for (const auto& fragment : *tc) {
      if (!fragment.is_object()) continue;  // not a fragment of a call
      PendingCall& call = calls_[call_index(fragment)];
      if (const auto id = fragment.find("id"); id != fragment.end() && id->is_string()) {
        call.id = id->get<std::string>();
      }
      const Json& fn = field(fragment, "function");
      call.name += string_field(fn, "name");
      call.arguments += string_field(fn, "arguments");
    }
  }
}

std::vector<FunctionCall> OpenAiAnswer::finish(Json& message) {
  if (!refusal_.empty()) throw Error(Errc::protocol, "openai: the model refused: " + refusal_);
  if (finish_reason_ == "content_filter") {
    throw Error(Errc::protocol, "openai: the model stopped its answer: content_filter");
  }
  std::vector<FunctionCall> calls;
  // content may be null only beside tool calls.
  message = {{"role", "assistant"},
             {"content", text_.empty() && !calls_.empty() ? Json() : Json(text_)}};
  if (!calls_.empty()) {
    Json tool_calls = Json::array();
    for (auto& [index, pending] : calls_) {
      // Some compatible servers omit ids; the tool message must still name its call.
      if (pending.id.empty()) pending.id = "call_" + std::to_string(index);
      FunctionCall call;
      call.id = pending.id;
      call.name = pending.name;
      // Arguments come as a JSON string that the model wrote: it may be broken.
      const Json args = polaris::detail::parse_untrusted_json(
          pending.arguments.empty() ? "{}" : pending.arguments);
      if (args.is_discarded() || !args.is_object()) {
        call.invalid_arguments = "arguments are not a JSON object: " + pending.arguments;
      } else {
        call.arguments = args;
      }
      tool_calls.push_back(
          {{"id", pending.id},
           {"type", "function"},
           {"function", {{"name", pending.name}, {"arguments", pending.arguments}}}});
      calls.push_back(std::move(call));
    }
    message["tool_calls"] = tool_calls;
  }
  return calls;
}

Json openai_request(const SessionOptions& options, const Json& messages,
                    const std::vector<ToolSpec>& tools) {
  Json all = Json::array();
  if (const std::string system = system_text(options); !system.empty()) {
    all.push_back({{"role", "system"}, {"content", system}});
  }
  for (const auto& m : messages) all.push_back(m);
  Json body = {{"model", options.model}, {"messages", all}, {"stream", options.stream}};
  if (options.stream) body["stream_options"] = {{"include_usage", true}};
  // Sampling parameters only when asked for: reasoning models reject them.
  if (options.temperature) body["temperature"] = *options.temperature;
  if (options.top_p) body["top_p"] = *options.top_p;
  if (options.max_output_tokens) {
    // api.openai.com deprecated max_tokens; compatible servers mostly know only max_tokens.
    const bool official = options.base_url.find("api.openai.com") != std::string::npos;
    body[official ? "max_completion_tokens" : "max_tokens"] = *options.max_output_tokens;
  }
  if (!options.thinking_level.empty()) body["reasoning_effort"] = options.thinking_level;
  if (!tools.empty()) {
    Json list = Json::array();
    for (const auto& tool : tools) {
      Json fn = {{"name", tool.name}};
      if (!tool.description.empty()) fn["description"] = tool.description;
      fn["parameters"] = tool.parameters.is_null()
                             ? Json{{"type", "object"}, {"properties", Json::object()}}
                             : to_json_schema(tool.parameters).schema;
      list.push_back({{"type", "function"}, {"function", fn}});
    }
    body["tools"] = list;
    body["tool_choice"] = "auto";
  }
  if (options.json_output) {
    if (options.response_schema.empty()) {
      body["response_format"] = {{"type", "json_object"}};
    } else {
      const JsonSchema schema = to_json_schema(options.response_schema.to_json());
      body["response_format"] = {{"type", "json_schema"},
                                 {"json_schema",
                                  {{"name", "response"},
                                   {"schema", schema.schema},
                                   {"strict", schema.strict_compatible}}}};
    }
  }
  return body;
}

std::unique_ptr<ModelProvider> make_openai(const SessionOptions& options,
                                           std::function<bool()> cancelled) {
  (void)system_text(options);  // reject bad system data at session creation
  return std::make_unique<OpenAi>(options, std::move(cancelled));
}

}  // namespace polaris::llm
