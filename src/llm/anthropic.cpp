// llm/anthropic.cpp - conversation, request building and (streamed) answer parsing for the
// Anthropic Messages API.
#include "llm/anthropic.hpp"

#include <spdlog/spdlog.h>

#include "common/untrusted_json.hpp"
#include "http/sse.hpp"
#include "llm/api_client.hpp"
#include "llm/json_fields.hpp"
#include "llm/json_schema.hpp"

namespace polaris::llm {
namespace {

// A content block's `index`; -1 when it is not a usable integer (a float cast could overflow).
std::int64_t block_index(const Json& event) {
  const Json& index = field(event, "index");
  if (index.is_number_unsigned()) {
    return index.get<std::uint64_t>() <= 0x7fffffffU ? index.get<std::int64_t>() : -1;
  }
  if (index.is_number_integer()) return index.get<std::int64_t>();
  return -1;
}

// Error types that say "try again later" rather than "this request is wrong".
bool transient_error_type(const std::string& type) {
  return type == "overloaded_error" || type == "api_error" || type == "rate_limit_error" ||
         type == "timeout_error";
}

std::string system_text(const SessionOptions& options) {
  std::string text = options.system;
  if (options.system_data) {
    if (options.system_data->mime_type.rfind("text/", 0) != 0) {
      throw Error(Errc::invalid_argument,
                  "anthropic: binary system instructions must have a text/* MIME type, not " +
                      options.system_data->mime_type);
    }
    if (!text.empty()) text += "\n\n";
    text += options.system_data->data;
  }
  if (options.json_output && options.response_schema.empty()) {
    // The API constrains output to a schema, not to "any JSON": ask for it in words.
    if (!text.empty()) text += "\n\n";
    text += "Reply with a single JSON value and nothing else.";
  }
  return text;
}

class Anthropic final : public ModelProvider {
 public:
  Anthropic(const SessionOptions& options, std::function<bool()> cancelled)
      : options_(options),
        logger_(options.logger ? options.logger : spdlog::default_logger()),
        api_(ApiClient::Options::for_session(options, "anthropic", headers(options.api_key),
                                             std::move(cancelled), logger_)),
        url_(strip_slash(options.base_url) + "/v1/messages") {}

  void add_user_text(std::string_view text) override {
    messages_.push_back(
        {{"role", "user"}, {"content", Json::array({{{"type", "text"}, {"text", text}}})}});
  }

  Turn run_turn(const std::vector<ToolSpec>& tools, const TextCallback& on_text) override {
    const Json body = anthropic_request(options_, messages_, tools);
    AnthropicAnswer answer(options_.show_thoughts);
    bool completed = true;
    if (options_.stream) {
      http::SseParser parser([&](const http::SseEvent& event) {
        if (answer.stopped()) return;
        Json data = polaris::detail::parse_untrusted_json(event.data);
        if (data.is_discarded() || !data.is_object()) {
          throw Error(Errc::protocol, "anthropic: stream event is not JSON");
        }
        answer.absorb_event(data, on_text);
      });
      completed = api_.post_stream(url_, body, [&](std::string_view bytes) {
        parser.feed(bytes);
        return !answer.stopped();
      });
      if (completed) parser.finish();
      answer.fold_usage(usage_);
      if (completed && !answer.stopped() && !answer.complete()) {
        throw Error(Errc::protocol, "anthropic: the stream ended before message_stop");
      }
    } else {
      const Json whole = api_.post(url_, body);
      if (whole.is_null()) {
        completed = false;
      } else {
        answer.absorb_message(whole, on_text);
        answer.fold_usage(usage_);
      }
    }
    Turn turn;
    if (!completed || answer.stopped()) {
      turn.stopped = true;
      return turn;
    }
    Json content;
    turn.calls = answer.finish(content);
    if (answer.stop_reason() == "max_tokens") {
      logger_->warn("anthropic: the answer reached max_tokens ({}) and was cut",
                    options_.max_output_tokens.value_or(kAnthropicMaxTokens));
    }
    // Thinking blocks and their signatures go back exactly as received: the API checks them
    // when the turn continues with tool results. An empty reply is not kept (the API refuses
    // an assistant message without content; consecutive user messages are joined).
    if (!content.empty()) {
      messages_.push_back({{"role", "assistant"}, {"content", std::move(content)}});
    }
    return turn;
  }

  void add_function_results(const std::vector<FunctionCall>& calls,
                            const std::vector<FunctionResult>& results) override {
    // Every result of one turn in one user message, in the model's order.
    Json content = Json::array();
    for (std::size_t i = 0; i < calls.size(); ++i) {
      const Json& response = results[i].response;
      Json block = {{"type", "tool_result"}, {"tool_use_id", calls[i].id}};
      if (results[i].failed) {
        const Json& error = field(response, "error");
        block["content"] = error.is_string() ? error.get<std::string>() : response.dump();
        block["is_error"] = true;
      } else {
        block["content"] = response.is_string() ? response.get<std::string>() : response.dump();
      }
      content.push_back(std::move(block));
    }
    messages_.push_back({{"role", "user"}, {"content", std::move(content)}});
  }

  [[nodiscard]] std::size_t history_size() const override { return messages_.size(); }
  void truncate_history(std::size_t size) override {
    if (size < messages_.size())
      messages_.erase(messages_.begin() + static_cast<long>(size), messages_.end());
  }
  [[nodiscard]] Usage usage() const override { return usage_; }

 private:
  static AuthHeaders headers(const std::string& key) {
    return [key](bool) {
      Headers h{{"anthropic-version", kAnthropicVersion}};
      if (!key.empty()) h.emplace_back("x-api-key", key);  // a gateway given by URL may need none
      return h;
    };
  }

  SessionOptions options_;
  Logger logger_;
  ApiClient api_;
  std::string url_;
  Json messages_ = Json::array();
  Usage usage_;
};

}  // namespace

void AnthropicAnswer::emit(const std::string& piece, bool thought, const TextCallback& on_text) {
  if (piece.empty() || stopped_) return;
  if (thought && !show_thoughts_) return;
  if (!on_text(piece)) stopped_ = true;
}

void AnthropicAnswer::add_block(const Json& block, const TextCallback& on_text) {
  const std::string type = string_field(block, "type");
  if (type == "text") emit(string_field(block, "text"), false, on_text);
  if (type == "thinking") emit(string_field(block, "thinking"), true, on_text);
}

void AnthropicAnswer::absorb_message(const Json& message, const TextCallback& on_text) {
  if (!message.is_object()) throw Error(Errc::protocol, "anthropic: answer is not an object");
  if (string_field(message, "type") == "error") {
    const Json& error = field(message, "error");
    throw Error(Errc::protocol, "anthropic: error in answer: " + string_field(error, "type") +
                                    ": " + string_field(error, "message"));
  }
  const Json& content = field(message, "content");
  if (!content.is_array()) throw Error(Errc::protocol, "anthropic: answer without content");
  std::int64_t index = 0;
  for (const auto& block : content) {
    if (!block.is_object()) continue;  // not a block
    add_block(block, on_text);
    blocks_[index++] = block;
  }
  stop_reason_ = string_field(message, "stop_reason");
  usage_ = field(message, "usage");
  complete_ = true;
}

void AnthropicAnswer::absorb_event(const Json& event, const TextCallback& on_text) {
  const std::string type = string_field(event, "type");
  if (type == "error") {
    const Json& error = field(event, "error");
    const std::string code = string_field(error, "type");
    std::string text = "anthropic: error in stream: " + (code.empty() ? "unknown" : code);
    if (const std::string message = string_field(error, "message"); !message.empty()) {
      text += ": " + message;
    }
    throw ProviderError(transient_error_type(code) ? Errc::connection_failed : Errc::protocol, text,
                        200, code);
  }
  if (type == "message_start") {
    usage_ = field(field(event, "message"), "usage");
    return;
  }
  if (type == "message_delta") {
    const std::string reason = string_field(field(event, "delta"), "stop_reason");
    if (!reason.empty()) stop_reason_ = reason;
    // The delta's counts are cumulative for the message: they replace message_start's.
    const Json& u = field(event, "usage");
    if (u.is_object()) {
      if (!usage_.is_object()) usage_ = Json::object();
      for (const auto& [key, value] : u.items()) usage_[key] = value;
    }
    return;
  }
  if (type == "message_stop") {
    complete_ = true;
    return;
  }
  if (type != "content_block_start" && type != "content_block_delta") return;  // ping, stop, ...
  const std::int64_t index = block_index(event);
  if (index < 0) throw Error(Errc::protocol, "anthropic: content block event without an index");
  if (type == "content_block_start") {
    const Json& block = field(event, "content_block");
    if (!block.is_object())
      throw Error(Errc::protocol, "anthropic: content block is not an object");
    add_block(block, on_text);
    blocks_[index] = block;
    return;
  }
  const auto found = blocks_.find(index);
  if (found == blocks_.end()) {
    throw Error(Errc::protocol, "anthropic: delta for content block " + std::to_string(index) +
                                    " that never started");
  }
  Json& block = found->second;
  const Json& delta = field(event, "delta");
  const std::string kind = string_field(delta, "type");
  // Appends a string delta to a string field of the block (absent or odd: starts afresh).
  auto append = [&block](const char* key, const std::string& piece) {
    Json& target = block[key];
    target = (target.is_string() ? target.get<std::string>() : std::string()) + piece;
  };
  if (kind == "text_delta") {
    const std::string piece = string_field(delta, "text");
    append("text", piece);
    emit(piece, false, on_text);
  } else if (kind == "thinking_delta") {
    const std::string piece = string_field(delta, "thinking");
    append("thinking", piece);
    emit(piece, true, on_text);
  } else if (kind == "signature_delta") {
    append("signature", string_field(delta, "signature"));
  } else if (kind == "input_json_delta") {
    inputs_[index] += string_field(delta, "partial_json");
  }
  // citations_delta and kinds yet unknown change nothing we send back.
}

void AnthropicAnswer::fold_usage(Usage& usage) {
  if (!usage_.is_object()) return;
  usage.requests += 1;
  // Cached prompt tokens are input too; the API counts them apart from input_tokens.
  const std::int64_t input = token_count(usage_, "input_tokens") +
                             token_count(usage_, "cache_creation_input_tokens") +
                             token_count(usage_, "cache_read_input_tokens");
  const std::int64_t output = token_count(usage_, "output_tokens");
  usage.input_tokens += input;
  usage.output_tokens += output;
  usage.thinking_tokens += token_count(field(usage_, "output_tokens_details"), "thinking_tokens");
  usage.total_tokens += input + output;
  usage_ = Json();
}

std::vector<FunctionCall> AnthropicAnswer::finish(Json& content) {
  if (stop_reason_ == "refusal") {
    throw Error(Errc::protocol, "anthropic: the model refused to answer (stop_reason refusal)");
  }
  content = Json::array();
  std::vector<FunctionCall> calls;
  for (auto& [index, block] : blocks_) {
    const std::string type = string_field(block, "type");
    if (type == "text") {
      if (string_field(block, "text").empty()) continue;  // "text content blocks must be non-empty"
      content.push_back(block);
    } else if (type == "tool_use") {
      FunctionCall call;
      call.id = string_field(block, "id");
      call.name = string_field(block, "name");
      Json input = field(block, "input");
      if (const auto streamed = inputs_.find(index); streamed != inputs_.end()) {
        // Arguments streamed as JSON text that the model wrote: it may be broken.
        const std::string& text = streamed->second;
        input = text.empty() ? Json::object() : polaris::detail::parse_untrusted_json(text);
        if (input.is_discarded() || !input.is_object()) {
          call.invalid_arguments = "arguments are not a JSON object: " + text;
          input = Json::object();
        }
      } else if (!input.is_object()) {
        call.invalid_arguments = "arguments are not a JSON object: " + input.dump();
        input = Json::object();
      }
      call.arguments = input;
      if (call.id.empty()) {
        throw Error(Errc::protocol, "anthropic: tool_use block without an id (" + call.name + ")");
      }
      // What the request format knows of a tool use; response-only fields stay behind.
      content.push_back(
          {{"type", "tool_use"}, {"id", call.id}, {"name", call.name}, {"input", input}});
      calls.push_back(std::move(call));
    } else {
      content.push_back(block);  // thinking (with its signature), redacted_thinking: unchanged
    }
  }
  return calls;
}

Json anthropic_request(const SessionOptions& options, const Json& messages,
                       const std::vector<ToolSpec>& tools) {
  Json body = {{"model", options.model},
               {"max_tokens", options.max_output_tokens.value_or(kAnthropicMaxTokens)},
               {"messages", messages}};
  if (options.stream) body["stream"] = true;
  if (const std::string system = system_text(options); !system.empty()) {
    body["system"] = Json::array({{{"type", "text"}, {"text", system}}});
  }
  // Sampling parameters only when asked for: thinking rejects a temperature other than 1.
  if (options.temperature) body["temperature"] = *options.temperature;
  if (options.top_p) body["top_p"] = *options.top_p;
  if (options.thinking_budget) {
    const int budget = *options.thinking_budget;
    if (budget < 0) {
      body["thinking"] = {{"type", "adaptive"}};
    } else if (budget == 0) {
      body["thinking"] = {{"type", "disabled"}};
    } else {
      body["thinking"] = {{"type", "enabled"}, {"budget_tokens", budget}};
    }
  }
  Json output_config = Json::object();
  if (!options.thinking_level.empty()) output_config["effort"] = options.thinking_level;
  if (options.json_output && !options.response_schema.empty()) {
    output_config["format"] = {
        {"type", "json_schema"},
        {"schema", to_json_schema(options.response_schema.to_json()).schema}};
  }
  if (!output_config.empty()) body["output_config"] = output_config;
  if (!tools.empty()) {
    Json list = Json::array();
    for (const auto& tool : tools) {
      Json t = {{"name", tool.name}};
      if (!tool.description.empty()) t["description"] = tool.description;
      t["input_schema"] = tool.parameters.is_null()
                              ? Json{{"type", "object"}, {"properties", Json::object()}}
                              : to_json_schema(tool.parameters).schema;
      list.push_back(std::move(t));
    }
    body["tools"] = list;
    body["tool_choice"] = {{"type", "auto"}};
  }
  return body;
}

std::unique_ptr<ModelProvider> make_anthropic(const SessionOptions& options,
                                              std::function<bool()> cancelled) {
  (void)system_text(options);  // reject bad system data at session creation
  return std::make_unique<Anthropic>(options, std::move(cancelled));
}

}  // namespace polaris::llm
