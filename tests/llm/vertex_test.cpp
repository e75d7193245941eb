// Vertex AI: service-account token minting (the fake token endpoint verifies the RS256 JWT with
// the public half of a key made for the test), endpoints, a 401 refresh, and the environment.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>

#include "fixtures.hpp"
#include "llm/session_impl.hpp"
#include "llm/vertex_auth.hpp"

namespace polaris::test {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string base64url_decode(std::string_view in) {
  std::string out;
  int bits = 0;
  unsigned value = 0;
  for (const char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      break;
    value = (value << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xff);
    }
  }
  return out;
}

std::string form_value(const std::string& body, const std::string& key) {
  const auto start = body.find(key + "=");
  if (start == std::string::npos) return {};
  const auto end = body.find('&', start);
  std::string raw = body.substr(start + key.size() + 1,
                                end == std::string::npos ? end : end - start - key.size() - 1);
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      out += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += raw[i] == '+' ? ' ' : raw[i];
    }
  }
  return out;
}

bool verify_rs256(const std::string& jwt, EVP_PKEY* key) {
  const auto dot = jwt.rfind('.');
  const std::string input = jwt.substr(0, dot);
  const std::string signature = base64url_decode(jwt.substr(dot + 1));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

class Vertex : public testing::Test {
 protected:
  void SetUp() override {
    key_.reset(EVP_RSA_gen(2048));
    ASSERT_TRUE(key_);
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    ASSERT_EQ(
        PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    const Json credentials = {{"type", "service_account"},
                              {"project_id", "proj"},
                              {"private_key_id", "key-1"},
                              {"private_key", std::string(data, static_cast<std::size_t>(size))},
                              {"client_email", "robot@proj.iam.gserviceaccount.com"},
                              {"token_uri", server_.url() + "/token"}};
    credentials_file_ = std::filesystem::temp_directory_path() /
                        ("polaris-llm-sa-" + std::to_string(::getpid()) + ".json");
    std::ofstream(credentials_file_) << credentials.dump();
    server_.on("POST", "/token", [this](const Received& r) { return token(r); });
  }
  void TearDown() override { std::filesystem::remove(credentials_file_); }

  // The token endpoint: checks the grant, the JWT's claims and its signature.
  Reply token(const Received& r) {
    ++token_requests_;
    if (form_value(r.body, "grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      return Reply{.status = 400, .body = R"({"error":"unsupported_grant_type"})"};
    }
    const std::string jwt = form_value(r.body, "assertion");
    const auto first = jwt.find('.');
    const auto second = jwt.find('.', first + 1);
    const Json header = Json::parse(base64url_decode(jwt.substr(0, first)), nullptr, false);
    const Json claims =
        Json::parse(base64url_decode(jwt.substr(first + 1, second - first - 1)), nullptr, false);
    const bool good =
        verify_rs256(jwt, key_.get()) && header.value("alg", "") == "RS256" &&
        header.value("kid", "") == "key-1" &&
        claims.value("iss", "") == "robot@proj.iam.gserviceaccount.com" &&
        claims.value("aud", "") == server_.url() + "/token" &&
        claims.value("scope", "") == "https://www.googleapis.com/auth/cloud-platform" &&
        claims.value("exp", 0) - claims.value("iat", 0) == 3600;
    if (!good) return Reply{.status = 400, .body = R"({"error":"invalid_grant"})"};
    Json answer = Json::parse(synthetic("vertex-token.json"));
    answer["access_token"] = "token-" + std::to_string(token_requests_.load());
    std::lock_guard lock(mutex_);
    if (expires_in_) answer["expires_in"] = *expires_in_;
    return Reply{.body = answer.dump()};
  }

  SessionOptions options(const std::string& location) {
    SessionOptions o;
    o.provider = Provider::vertex;
    o.model = "gemini-flash-latest";
    o.stream = false;
    o.base_url = server_.url();
    o.project = "proj";
    o.location = location;
    o.credentials_file = credentials_file_.string();
    o.retry.max_attempts = 1;
    return o;
  }

  FakeServer server_;
  PkeyPtr key_;
  std::filesystem::path credentials_file_;
  std::atomic<int> token_requests_{0};
  std::mutex mutex_;
  std::optional<Json> expires_in_;  // guarded by mutex_; set: the endpoint answers this instead
};

constexpr const char* kRegional =
    "/v1/projects/proj/locations/us-central1/publishers/google/models/"
    "gemini-flash-latest:generateContent";

TEST_F(Vertex, MintsAVerifiedTokenAndReusesIt) {
  server_.expect("POST", kRegional, Reply{.body = synthetic("gemini-text.json")});
  server_.expect("POST", kRegional, Reply{.body = synthetic("gemini-text.json")});
  Session session = make_session(options("us-central1"), nullptr);
  EXPECT_EQ(session.ask("hi"), "done");
  EXPECT_EQ(session.ask("again"), "done");
  EXPECT_EQ(token_requests_.load(), 1);
  const auto got = server_.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].header("authorization"), "Bearer token-1");
  EXPECT_EQ(got[2].header("authorization"), "Bearer token-1");
  EXPECT_EQ(got[1].header("x-goog-api-key"), "");
}

TEST_F(Vertex, A401RefreshesTheTokenOnce) {
  server_.expect(
      "POST", kRegional,
      Reply{.status = 401, .body = R"({"error":{"code":401,"status":"UNAUTHENTICATED"}})"});
  server_.expect("POST", kRegional, Reply{.body = synthetic("gemini-text.json")});
  Session session = make_session(options("us-central1"), nullptr);
  EXPECT_EQ(session.ask("hi"), "done");
  EXPECT_EQ(token_requests_.load(), 2);
  EXPECT_EQ(server_.received().back().header("authorization"), "Bearer token-2");

  // A second 401 in a row is an error, not a loop.
  server_.expect(
      "POST", kRegional,
      Reply{.status = 401, .body = R"({"error":{"code":401,"status":"UNAUTHENTICATED"}})"});
  server_.expect(
      "POST", kRegional,
      Reply{.status = 401, .body = R"({"error":{"code":401,"status":"UNAUTHENTICATED"}})"});
  EXPECT_THROW(session.ask("hi"), ProviderError);
}

TEST_F(Vertex, ChosenFromTheSeedsThreeVariablesWithTheGlobalEndpoint) {
  // The seed's instructions set only these three (plus our base URL override for the test).
  for (const char* name : {"GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI",
                           "OPENAI_API_KEY", "OPENAI_BASE_URL"}) {
    ::unsetenv(name);
  }
  ::setenv("GOOGLE_CLOUD_PROJECT", "proj", 1);
  ::setenv("GOOGLE_CLOUD_LOCATION", "global", 1);
  ::setenv("GOOGLE_APPLICATION_CREDENTIALS", credentials_file_.c_str(), 1);
  ::setenv("GOOGLE_VERTEX_BASE_URL", server_.url().c_str(), 1);
  server_.expect(
      "POST",
      "/v1/projects/proj/locations/global/publishers/google/models/"
      "gemini-3.1-pro-preview:streamGenerateContent?alt=sse",
      Reply{.body = "data: " + Json::parse(synthetic("gemini-text.json")).dump() + "\n\n",
            .content_type = "text/event-stream"});
  Session session{SessionOptions{}};
  EXPECT_EQ(session.provider(), Provider::vertex);
  EXPECT_EQ(session.model(), "gemini-3.1-pro-preview");
  EXPECT_EQ(session.ask("hi"), "done");
  for (const char* name : {"GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION",
                           "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_VERTEX_BASE_URL"}) {
    ::unsetenv(name);
  }
}

TEST_F(Vertex, AnExpiresInThatIsNotAPositiveNumberIsAProtocolError) {
  for (const Json& bad : {Json(-5), Json(0), Json(-0.5), Json(0.0), Json("3600"), Json(true),
                          Json::object(), Json::array({3600})}) {
    {
      std::lock_guard lock(mutex_);
      expires_in_ = bad;
    }
    llm::TokenSource source(credentials_file_.string());
    try {
      (void)source.token();
      ADD_FAILURE() << "expires_in " << bad.dump() << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::protocol) << bad.dump();
      EXPECT_NE(std::string(e.what()).find("vertex token exchange: expires_in"), std::string::npos)
          << e.what();
    }
  }
}

TEST_F(Vertex, AHugeExpiresInIsClampedAndTheTokenReused) {
  // 1e300 seconds would overflow the clock; as a day, the token is minted once and reused.
  for (const Json& huge : {Json(1e300), Json(std::numeric_limits<std::uint64_t>::max()),
                           Json(std::numeric_limits<std::int64_t>::max())}) {
    {
      std::lock_guard lock(mutex_);
      expires_in_ = huge;
    }
    const int before = token_requests_.load();
    llm::TokenSource source(credentials_file_.string());
    const std::string first = source.token();
    EXPECT_EQ(source.token(), first) << huge.dump();
    EXPECT_EQ(token_requests_.load(), before + 1) << huge.dump();
  }
}

TEST_F(Vertex, AShortLivedTokenIsReusedForHalfItsLife) {
  {
    std::lock_guard lock(mutex_);
    expires_in_ = 120;  // shorter than the five-minute margin
  }
  llm::TokenSource source(credentials_file_.string());
  const std::string first = source.token();
  EXPECT_EQ(source.token(), first);
  EXPECT_EQ(token_requests_.load(), 1);
}

TEST(VertexTokenLifetime, RefreshedFiveMinutesEarlyOrHalfWayThrough) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  EXPECT_EQ(llm::refresh_after(seconds(3600)), seconds(3300));
  EXPECT_EQ(llm::refresh_after(seconds(600)), seconds(300));
  EXPECT_EQ(llm::refresh_after(seconds(120)), seconds(60));
  EXPECT_EQ(llm::refresh_after(seconds(1)), milliseconds(500));
  EXPECT_EQ(llm::refresh_after(seconds(0)), milliseconds(0));
}

TEST(VertexTokenLifetime, DefaultsCutsFractionsAndClampsToADay) {
  using std::chrono::seconds;
  EXPECT_EQ(llm::token_lifetime(Json::object()), seconds(3600));
  EXPECT_EQ(llm::token_lifetime({{"expires_in", nullptr}}), seconds(3600));
  EXPECT_EQ(llm::token_lifetime({{"expires_in", 3599}}), seconds(3599));
  EXPECT_EQ(llm::token_lifetime({{"expires_in", 3599.9}}), seconds(3599));
  EXPECT_EQ(llm::token_lifetime({{"expires_in", 0.5}}), seconds(0));
  EXPECT_EQ(llm::token_lifetime({{"expires_in", 86401}}), seconds(86400));
  EXPECT_EQ(llm::token_lifetime({{"expires_in", 1e19}}), seconds(86400));
  EXPECT_EQ(llm::token_lifetime({{"expires_in", std::numeric_limits<double>::infinity()}}),
            seconds(86400));
  EXPECT_EQ(llm::token_lifetime({{"expires_in", std::numeric_limits<std::uint64_t>::max()}}),
            seconds(86400));
  for (const Json& bad : {Json(std::numeric_limits<std::int64_t>::min()), Json(-1e300),
                          Json(std::numeric_limits<double>::quiet_NaN()), Json("x")}) {
    try {
      (void)llm::token_lifetime({{"expires_in", bad}});
      ADD_FAILURE() << "expires_in " << bad.dump() << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::protocol);
    }
  }
}

TEST(VertexCredentials, MissingFileIsAnInvalidArgument) {
  SessionOptions o;
  o.provider = Provider::vertex;
  o.project = "p";
  o.credentials_file = "/nonexistent/sa.json";
  try {
    Session session{o};
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_STREQ(e.what(), "cannot read credentials file /nonexistent/sa.json");
  }
}

}  // namespace
}  // namespace polaris::test
