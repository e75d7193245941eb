// Retries: which statuses, how long, and that a 400 is never retried.
#include <gtest/gtest.h>

#include "common/message_limit.hpp"
#include "fake_server.hpp"
#include "fixtures.hpp"
#include "llm/api_client.hpp"

namespace polaris::test {
namespace {

using std::chrono::milliseconds;

struct Client {
  std::vector<milliseconds> delays;
  llm::ApiClient api;
  explicit Client(int attempts)
      : api({.provider_name = "gemini",
             .retry = {.max_attempts = attempts,
                       .initial_backoff = milliseconds(100),
                       .max_backoff = milliseconds(20000)},
             .connect_timeout = milliseconds(2000),
             .request_timeout = milliseconds(10000),
             .auth = {},
             .auth_refreshable = false,
             .cancelled = {},
             .logger = {},
             .debug = false,
             .sleep = [this](milliseconds d) { delays.push_back(d); }}) {}
};

class Retryable : public testing::TestWithParam<int> {};

TEST_P(Retryable, StatusIsRetriedThenSucceeds) {
  FakeServer server;
  server.expect("POST", "/x",
                Reply{.status = GetParam(), .body = R"({"error":{"message":"busy"}})"});
  server.expect("POST", "/x", Reply{.status = GetParam(), .body = "not json"});
  server.expect("POST", "/x", Reply{.body = R"({"ok":true})"});
  Client client(3);
  EXPECT_EQ(client.api.post(server.url() + "/x", Json::object()), (Json{{"ok", true}}));
  EXPECT_EQ(server.received().size(), 3u);
  ASSERT_EQ(client.delays.size(), 2u);
  // Exponential with jitter in [delay/2, delay].
  EXPECT_GE(client.delays[0], milliseconds(50));
  EXPECT_LE(client.delays[0], milliseconds(100));
  EXPECT_GE(client.delays[1], milliseconds(100));
  EXPECT_LE(client.delays[1], milliseconds(200));
}

INSTANTIATE_TEST_SUITE_P(Statuses, Retryable, testing::Values(408, 429, 500, 502, 503, 504, 529));

TEST(Retry, GivesUpAfterMaxAttemptsWithTheProvidersError) {
  FakeServer server;
  server.on("POST", "/x", [](const Received&) {
    return Reply{.status = 503, .body = synthetic("gemini-503.json")};
  });
  Client client(3);
  try {
    client.api.post(server.url() + "/x", Json::object());
    FAIL() << "no error";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.provider_code(), "UNAVAILABLE");
    EXPECT_EQ(e.code(), Errc::connection_failed);
    EXPECT_STREQ(e.what(),
                 "gemini: HTTP 503 UNAVAILABLE: The model is overloaded. Please try again later.");
  }
  EXPECT_EQ(server.received().size(), 3u);
}

TEST(Retry, BadRequestIsNotRetried) {
  FakeServer server;
  server.expect("POST", "/x", load_fixture("gemini/error-bad-model.yaml").reply());
  Client client(5);
  EXPECT_THROW(client.api.post(server.url() + "/x", Json::object()), ProviderError);
  EXPECT_EQ(server.received().size(), 1u);
  EXPECT_TRUE(client.delays.empty());
}

// A model API answering an error with an endless body: the request ends with a clear error
// once the body passes the message limit, and is not retried.
TEST(Retry, AnOversizedErrorBodyIsAClearErrorNotRetried) {
  FakeServer server;
  server.expect(
      "POST", "/x",
      Reply{.status = 500, .body = std::string(polaris::detail::kMaxMessageBytes + 1, 'x')});
  Client client(3);
  try {
    client.api.post(server.url() + "/x", Json::object());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::payload_too_large) << e.what();
  }
  EXPECT_EQ(server.received().size(), 1u);
}

TEST(Retry, HonoursRetryAfterSeconds) {
  FakeServer server;
  server.expect("POST", "/x",
                Reply{.status = 429, .body = "{}", .headers = {{"Retry-After", "7"}}});
  server.expect("POST", "/x", Reply{.body = "{}"});
  Client client(2);
  client.api.post(server.url() + "/x", Json::object());
  EXPECT_EQ(client.delays, std::vector<milliseconds>{milliseconds(7000)});
}

// Anthropic's 529 (overloaded) with its error type, after retries.
TEST(Retry, AnthropicOverloadedGivesUpWithTheErrorType) {
  FakeServer server;
  server.on("POST", "/x", [](const Received&) {
    return Reply{.status = 529, .body = synthetic("anthropic-529.json")};
  });
  Client client(2);
  try {
    client.api.post(server.url() + "/x", Json::object());
    FAIL() << "no error";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.status(), 529);
    EXPECT_EQ(e.provider_code(), "overloaded_error");
    EXPECT_EQ(e.code(), Errc::connection_failed);
    EXPECT_STREQ(e.what(), "gemini: HTTP 529 overloaded_error: Overloaded");
  }
  EXPECT_EQ(server.received().size(), 2u);
}

TEST(Retry, HonoursRetryAfterMillisecondsBeforeSeconds) {
  FakeServer server;
  server.expect("POST", "/x",
                Reply{.status = 529,
                      .body = "{}",
                      .headers = {{"retry-after-ms", "1500"}, {"Retry-After", "2"}}});
  server.expect("POST", "/x", Reply{.body = "{}"});
  Client client(2);
  client.api.post(server.url() + "/x", Json::object());
  EXPECT_EQ(client.delays, std::vector<milliseconds>{milliseconds(1500)});
}

TEST(Retry, HonoursGeminiRetryInfo) {
  FakeServer server;
  server.expect("POST", "/x", Reply{.status = 429, .body = synthetic("gemini-429-retryinfo.json")});
  server.expect("POST", "/x", Reply{.body = "{}"});
  Client client(2);
  client.api.post(server.url() + "/x", Json::object());
  EXPECT_EQ(client.delays, std::vector<milliseconds>{milliseconds(2000)});
}

TEST(Retry, ConnectionErrorsAreRetried) {
  std::string url;
  {
    FakeServer closed;  // a port that was just free: nobody listens there any more
    url = closed.url() + "/x";
  }
  Client client(3);
  try {
    client.api.post(url, Json::object());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::connection_failed);
  }
  EXPECT_EQ(client.delays.size(), 2u);
}

}  // namespace
}  // namespace polaris::test
