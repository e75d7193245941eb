// llm/config.cpp - choosing the provider and filling options from the environment.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>

#include "llm/anthropic.hpp"
#include "llm/api_client.hpp"
#include "llm/gemini.hpp"
#include "llm/model_path.hpp"
#include "llm/openai.hpp"
#include "llm/provider.hpp"
#include "llm/vertex_auth.hpp"

namespace polaris {

std::string_view to_string(Provider provider) noexcept {
  switch (provider) {
    case Provider::automatic:
      return "automatic";
    case Provider::gemini:
      return "gemini";
    case Provider::vertex:
      return "vertex";
    case Provider::openai:
      return "openai";
    case Provider::anthropic:
      return "anthropic";
  }
  return "automatic";
}

std::optional<Provider> parse_provider(std::string_view name) noexcept {
  if (name == "gemini") return Provider::gemini;
  if (name == "vertex" || name == "vertexai") return Provider::vertex;
  if (name == "openai") return Provider::openai;
  if (name == "anthropic") return Provider::anthropic;
  if (name == "automatic" || name == "auto" || name.empty()) return Provider::automatic;
  return std::nullopt;
}

namespace llm {
namespace {

constexpr const char* kGeminiModel = "gemini-3.1-pro-preview";
constexpr const char* kOpenAiModel = "gpt-4.1-mini";
constexpr const char* kAnthropicModel = "claude-sonnet-4-5";

std::string env(const char* name) {
  // polaris never calls setenv, so reading is safe unless the application writes concurrently.
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
  return value == nullptr ? std::string() : std::string(value);
}

bool env_true(const char* name) {
  std::string v = env(name);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

void fill(std::string& field, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (!field.empty()) return;
    field = env(name);
  }
}

Provider choose(const SessionOptions& o) {
  if (o.provider != Provider::automatic) return o.provider;
  if (env_true("GOOGLE_GENAI_USE_VERTEXAI")) return Provider::vertex;
  if (!env("GOOGLE_API_KEY").empty() || !env("GEMINI_API_KEY").empty()) return Provider::gemini;
  if (!env("GOOGLE_CLOUD_PROJECT").empty() && !env("GOOGLE_APPLICATION_CREDENTIALS").empty()) {
    return Provider::vertex;
  }
  if (!env("OPENAI_API_KEY").empty() || !env("OPENAI_BASE_URL").empty()) return Provider::openai;
  // Last among the environment's providers: adding it changed no existing environment's choice.
  if (!env("ANTHROPIC_API_KEY").empty()) return Provider::anthropic;
  // A key or endpoint given in the options, without a provider: the Gemini API, as always.
  if (!o.api_key.empty() || !o.base_url.empty()) return Provider::gemini;
  // Nothing configured: name every way there is, not only the first provider's.
  throw Error(Errc::invalid_argument,
              "no model provider configured: set GOOGLE_API_KEY or GEMINI_API_KEY (Gemini API), "
              "GOOGLE_CLOUD_PROJECT and GOOGLE_APPLICATION_CREDENTIALS (Vertex AI), or "
              "OPENAI_API_KEY and/or OPENAI_BASE_URL (OpenAI, or a compatible server such as "
              "Ollama or llama.cpp), or ANTHROPIC_API_KEY (Anthropic)");
}

GeminiEndpoint vertex_endpoint(const SessionOptions& o) {
  auto tokens = std::make_shared<TokenSource>(o.credentials_file);
  GeminiEndpoint endpoint;
  endpoint.name = "vertex";
  std::string base = o.base_url;
  if (base.empty()) {
    base = o.location == "global" ? "https://aiplatform.googleapis.com"
                                  : "https://" + o.location + "-aiplatform.googleapis.com";
  }
  endpoint.model_url = strip_slash(base) + "/v1/projects/" + encode_path(o.project) +
                       "/locations/" + encode_path(o.location) + "/publishers/google/" +
                       model_path(o.model);
  endpoint.auth = [tokens](bool refresh) {
    return Headers{{"Authorization", "Bearer " + tokens->token(refresh)}};
  };
  endpoint.auth_refreshable = true;
  return endpoint;
}

}  // namespace

ResolvedOptions resolve(SessionOptions o) {
  ResolvedOptions out;
  out.provider = choose(o);
  switch (out.provider) {
    case Provider::gemini:
      fill(o.api_key, {"GOOGLE_API_KEY", "GEMINI_API_KEY"});
      fill(o.base_url, {"GOOGLE_GEMINI_BASE_URL"});
      if (o.base_url.empty()) o.base_url = "https://generativelanguage.googleapis.com";
      if (o.model.empty()) o.model = kGeminiModel;
      if (o.api_key.empty()) {
        throw Error(Errc::invalid_argument,
                    "gemini: no API key (set GOOGLE_API_KEY or GEMINI_API_KEY, or use Vertex AI "
                    "with GOOGLE_CLOUD_PROJECT and GOOGLE_APPLICATION_CREDENTIALS)");
      }
      break;
    case Provider::vertex:
      fill(o.project, {"GOOGLE_CLOUD_PROJECT"});
      fill(o.location, {"GOOGLE_CLOUD_LOCATION", "GOOGLE_CLOUD_REGION"});
      fill(o.credentials_file, {"GOOGLE_APPLICATION_CREDENTIALS"});
      fill(o.base_url, {"GOOGLE_VERTEX_BASE_URL"});
      if (o.location.empty()) o.location = "global";
      if (o.model.empty()) o.model = kGeminiModel;
      if (o.project.empty())
        throw Error(Errc::invalid_argument, "vertex: GOOGLE_CLOUD_PROJECT is not set");
      if (o.credentials_file.empty()) {
        throw Error(Errc::invalid_argument, "vertex: GOOGLE_APPLICATION_CREDENTIALS is not set");
      }
      break;
    case Provider::openai:
      fill(o.api_key, {"OPENAI_API_KEY"});
      fill(o.base_url, {"OPENAI_BASE_URL"});
      fill(o.model, {"OPENAI_MODEL"});
      // OpenAI's own endpoint refuses every request without a key (after retries); a local
      // server (Ollama, llama.cpp, vLLM) needs none.
      if (o.base_url.empty() && o.api_key.empty()) {
        throw Error(Errc::invalid_argument,
                    "openai: no API key (set OPENAI_API_KEY; a local server given with "
                    "OPENAI_BASE_URL, such as Ollama or llama.cpp, needs none)");
      }
      if (o.base_url.empty()) o.base_url = "https://api.openai.com/v1";
      if (o.model.empty()) o.model = kOpenAiModel;
      break;
    case Provider::anthropic:
      fill(o.api_key, {"ANTHROPIC_API_KEY"});
      fill(o.base_url, {"ANTHROPIC_BASE_URL"});
      fill(o.model, {"ANTHROPIC_MODEL"});
      // api.anthropic.com refuses every request without a key; a gateway given by URL may not.
      if (o.base_url.empty() && o.api_key.empty()) {
        throw Error(Errc::invalid_argument, "anthropic: no API key (set ANTHROPIC_API_KEY)");
      }
      if (o.base_url.empty()) o.base_url = "https://api.anthropic.com";
      if (o.model.empty()) o.model = kAnthropicModel;
      break;
    case Provider::automatic:
      break;
  }
  if (o.max_turns < 1) throw Error(Errc::invalid_argument, "max_turns must be at least 1");
  if (!o.default_arguments.is_object()) {
    throw Error(Errc::invalid_argument, "default_arguments must be a JSON object");
  }
  o.provider = out.provider;
  out.options = std::move(o);
  return out;
}

std::unique_ptr<ModelProvider> make_provider(const ResolvedOptions& resolved,
                                             std::function<bool()> cancelled) {
  switch (resolved.provider) {
    case Provider::openai:
      return make_openai(resolved.options, std::move(cancelled));
    case Provider::anthropic:
      return make_anthropic(resolved.options, std::move(cancelled));
    case Provider::vertex:
      return make_gemini(resolved.options, vertex_endpoint(resolved.options), std::move(cancelled));
    default:
      return make_gemini(resolved.options, gemini_api_endpoint(resolved.options),
                         std::move(cancelled));
  }
}

}  // namespace llm
}  // namespace polaris
