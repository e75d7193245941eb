// Choosing the provider from options and the environment, and what a session sends for its
// system instructions.
#include <gtest/gtest.h>

#include <cstdlib>

#include "fixtures.hpp"
#include "llm/session_impl.hpp"
#include "test_options.hpp"

namespace polaris::test {
namespace {

// Clears every variable the provider choice reads, and restores nothing: tests set what they need.
void clear_provider_environment() {
  for (const char* name :
       {"GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION", "GOOGLE_APPLICATION_CREDENTIALS", "OPENAI_API_KEY",
        "OPENAI_BASE_URL", "OPENAI_MODEL", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_VERTEX_BASE_URL",
        "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL"}) {
    ::unsetenv(name);
  }
}

TEST(ProviderChoice, NoCredentialsIsAClearError) {
  clear_provider_environment();
  try {
    Session session{SessionOptions{}};
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    // Every provider's variables, not only the first provider's.
    const std::string message = e.what();
    for (const char* name : {"GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_CLOUD_PROJECT",
                             "GOOGLE_APPLICATION_CREDENTIALS", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                             "ANTHROPIC_API_KEY"}) {
      EXPECT_NE(message.find(name), std::string::npos) << name << " missing from: " << message;
    }
  }
}

// OpenAI's own endpoint refuses a request without a key: refused before any request is sent.
TEST(ProviderChoice, OpenAiDefaultEndpointNeedsAKey) {
  clear_provider_environment();
  try {
    Session session{SessionOptions{.provider = Provider::openai}};
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_EQ(std::string(e.what()).rfind("openai: no API key (set OPENAI_API_KEY", 0), 0u)
        << e.what();
  }
}

// A local server given with OPENAI_BASE_URL and chosen explicitly needs no key either.
TEST(ProviderChoice, OpenAiLocalServerNeedsNoKey) {
  clear_provider_environment();
  FakeServer server;
  server.expect("POST", "/v1/chat/completions", Reply{.body = synthetic("openai-text.json")});
  ::setenv("OPENAI_BASE_URL", (server.url() + "/v1").c_str(), 1);
  Session session{SessionOptions{.provider = Provider::openai, .stream = false}};
  EXPECT_EQ(session.ask("hi"), "done");
  EXPECT_EQ(server.received().at(0).header("authorization"), "");
  clear_provider_environment();
}

TEST(ProviderChoice, OpenAiFromItsEnvironment) {
  clear_provider_environment();
  FakeServer server;
  server.expect("POST", "/v1/chat/completions", Reply{.body = synthetic("openai-text.json")});
  ::setenv("OPENAI_BASE_URL", (server.url() + "/v1").c_str(), 1);
  ::setenv("OPENAI_MODEL", "llama3.2", 1);
  SessionOptions o;
  o.stream = false;
  Session session{o};
  EXPECT_EQ(session.provider(), Provider::openai);
  EXPECT_EQ(session.model(), "llama3.2");
  EXPECT_EQ(session.ask("hi"), "done");
  // A local server needs no key: no Authorization header is sent.
  EXPECT_EQ(server.received().at(0).header("authorization"), "");
  clear_provider_environment();
}

TEST(ProviderChoice, GeminiKeyAndBaseUrlFromTheEnvironment) {
  clear_provider_environment();
  FakeServer server;
  server.expect("POST", "/v1beta/models/m:generateContent",
                Reply{.body = synthetic("gemini-text.json")});
  ::setenv("GEMINI_API_KEY", "from-env", 1);
  ::setenv("GOOGLE_GEMINI_BASE_URL", server.url().c_str(), 1);
  SessionOptions o;
  o.model = "m";
  o.stream = false;
  Session session{o};
  EXPECT_EQ(session.provider(), Provider::gemini);
  EXPECT_EQ(session.ask("hi"), "done");
  EXPECT_EQ(server.received().at(0).header("x-goog-api-key"), "from-env");
  clear_provider_environment();
}

TEST(ProviderChoice, AnthropicKeyAndBaseUrlFromTheEnvironment) {
  clear_provider_environment();
  FakeServer server;
  server.expect("POST", "/v1/messages", Reply{.body = synthetic("anthropic-text.json")});
  ::setenv("ANTHROPIC_API_KEY", "sk-ant-env", 1);
  ::setenv("ANTHROPIC_BASE_URL", (server.url() + "/").c_str(), 1);  // without /v1
  SessionOptions o;
  o.stream = false;
  Session session{o};
  EXPECT_EQ(session.provider(), Provider::anthropic);
  EXPECT_EQ(session.model(), "claude-sonnet-4-5");
  EXPECT_EQ(session.ask("hi"), "done");
  EXPECT_EQ(server.received().at(0).header("x-api-key"), "sk-ant-env");
  EXPECT_EQ(server.received().at(0).header("anthropic-version"), "2023-06-01");
  clear_provider_environment();
}

// Precedence: the providers that came first keep their environments' choice; Anthropic is
// chosen when nothing else is configured.
TEST(ProviderChoice, AnthropicComesAfterTheOthers) {
  clear_provider_environment();
  ::setenv("ANTHROPIC_API_KEY", "sk-ant-env", 1);
  ::setenv("OPENAI_API_KEY", "sk-openai", 1);
  EXPECT_EQ(Session{SessionOptions{}}.provider(), Provider::openai);
  ::unsetenv("OPENAI_API_KEY");
  ::setenv("GEMINI_API_KEY", "g", 1);
  EXPECT_EQ(Session{SessionOptions{}}.provider(), Provider::gemini);
  ::unsetenv("GEMINI_API_KEY");
  EXPECT_EQ(Session{SessionOptions{}}.provider(), Provider::anthropic);
  clear_provider_environment();
}

TEST(ProviderChoice, AnthropicWithoutAKeyIsRefused) {
  clear_provider_environment();
  try {
    Session session{SessionOptions{.provider = Provider::anthropic}};
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_STREQ(e.what(), "anthropic: no API key (set ANTHROPIC_API_KEY)");
  }
}

TEST(ProviderChoice, ParsesNames) {
  EXPECT_EQ(parse_provider("vertex"), Provider::vertex);
  EXPECT_EQ(parse_provider("openai"), Provider::openai);
  EXPECT_EQ(parse_provider("gemini"), Provider::gemini);
  EXPECT_EQ(parse_provider("anthropic"), Provider::anthropic);
  EXPECT_EQ(to_string(Provider::anthropic), "anthropic");
  EXPECT_EQ(parse_provider("claude"), std::nullopt);
  EXPECT_EQ(to_string(Provider::vertex), "vertex");
}

TEST(SystemInstructions, GeminiSendsTextAndInlineData) {
  FakeServer server;
  server.expect("POST", "/v1beta/models/gemini-flash-latest:generateContent",
                Reply{.body = synthetic("gemini-text.json")});
  auto options = gemini_options(server);
  options.system = "Be brief.";
  options.system_data = Blob{.mime_type = "application/pdf", .data = std::string("%PDF\0\1", 6)};
  Session session = make_session(options, nullptr);
  session.ask("hi");
  const Json parts = server.received().at(0).json()["systemInstruction"]["parts"];
  EXPECT_EQ(parts[0], (Json{{"text", "Be brief."}}));
  EXPECT_EQ(parts[1],
            (Json{{"inlineData", {{"mimeType", "application/pdf"}, {"data", "JVBERgAB"}}}}));
}

TEST(SystemInstructions, OpenAiTakesOnlyTextData) {
  FakeServer server;
  auto options = openai_options(server);
  options.system_data = Blob{.mime_type = "image/png", .data = "x"};
  try {
    Session session = make_session(options, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_STREQ(e.what(),
                 "openai: binary system instructions must have a text/* MIME type, not image/png");
  }
}

}  // namespace
}  // namespace polaris::test
