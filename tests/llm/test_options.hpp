// tests/llm/test_options.hpp - session options pointing at a fake server.
#pragma once

#include "fake_server.hpp"
#include "polaris/llm.hpp"

namespace polaris::test {

inline SessionOptions gemini_options(const FakeServer& server, bool stream = false) {
  SessionOptions o;
  o.provider = Provider::gemini;
  o.model = "gemini-flash-latest";
  o.stream = stream;
  o.base_url = server.url();
  o.api_key = "test-key";
  o.retry = {.max_attempts = 1,
             .initial_backoff = std::chrono::milliseconds(1),
             .max_backoff = std::chrono::milliseconds(5)};
  return o;
}

inline SessionOptions openai_options(const FakeServer& server, bool stream = false) {
  SessionOptions o;
  o.provider = Provider::openai;
  o.model = "gpt-5.6-luna";
  o.stream = stream;
  o.base_url = server.url() + "/v1";
  o.api_key = "sk-test";
  o.retry = {.max_attempts = 1,
             .initial_backoff = std::chrono::milliseconds(1),
             .max_backoff = std::chrono::milliseconds(5)};
  return o;
}

inline SessionOptions anthropic_options(const FakeServer& server, bool stream = false) {
  SessionOptions o;
  o.provider = Provider::anthropic;
  o.model = "claude-haiku-4-5-20251001";
  o.stream = stream;
  o.base_url = server.url();  // without /v1, as Anthropic's SDKs take it
  o.api_key = "sk-ant-test";
  o.retry = {.max_attempts = 1,
             .initial_backoff = std::chrono::milliseconds(1),
             .max_backoff = std::chrono::milliseconds(5)};
  return o;
}

}  // namespace polaris::test
