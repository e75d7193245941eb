// llm/vertex_auth.cpp
#include "llm/vertex_auth.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/message_limit.hpp"
#include "common/untrusted_json.hpp"
#include "http/http_client.hpp"
#include "llm/api_client.hpp"
#include "llm/base64.hpp"
#include "polaris/error.hpp"

namespace polaris::llm {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

constexpr auto kRefreshMargin = std::chrono::minutes(5);
// Google's token endpoint answers expires_in 3599 and never more than 12 hours; RFC 6749 makes it
// optional (default: the hour Google documents).
constexpr std::int64_t kDefaultLifetimeSeconds = 3600;
constexpr std::int64_t kMaxLifetimeSeconds = std::int64_t{24} * 3600;
constexpr const char* kDefaultTokenUri = "https://oauth2.googleapis.com/token";
constexpr const char* kScope = "https://www.googleapis.com/auth/cloud-platform";

std::string form(std::initializer_list<std::pair<std::string, std::string>> fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += http::url_encode(k) + "=" + http::url_encode(v);
  }
  return out;
}

}  // namespace

std::chrono::milliseconds refresh_after(std::chrono::seconds lifetime) {
  const std::chrono::milliseconds whole = lifetime;
  return whole - std::min<std::chrono::milliseconds>(kRefreshMargin, whole / 2);
}

std::chrono::seconds token_lifetime(const Json& answer) {
  const auto it = answer.find("expires_in");
  if (it == answer.end() || it->is_null()) return std::chrono::seconds(kDefaultLifetimeSeconds);
  // RFC 6749 says a number of seconds. A string, bool or object is a broken endpoint: say so
  // rather than guess, since a wrong lifetime means using a dead token or minting on every call.
  if (!it->is_number()) {
    throw Error(Errc::protocol, "vertex token exchange: expires_in is not a number: " +
                                    it->dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  // A token that is already expired cannot be used at all: an error, not a silent clamp.
  const bool positive = it->is_number_float()      ? it->get<double>() > 0
                        : it->is_number_unsigned() ? it->get<std::uint64_t>() > 0
                                                   : it->get<std::int64_t>() > 0;
  if (!positive) {
    throw Error(Errc::protocol,
                "vertex token exchange: expires_in must be positive, got " + it->dump());
  }
  // Large values are clamped, not refused: the token is good, and re-minting a day early costs
  // one request, while `now + seconds(huge)` would overflow the clock (undefined behaviour).
  // Fractions are cut: expiring a fraction of a second early is harmless. The comparisons are
  // done before converting, since a double beyond int64 does not convert.
  if (it->is_number_unsigned()) {
    return std::chrono::seconds(static_cast<std::int64_t>(
        std::min<std::uint64_t>(it->get<std::uint64_t>(), kMaxLifetimeSeconds)));
  }
  if (it->is_number_integer()) {
    return std::chrono::seconds(std::min(it->get<std::int64_t>(), kMaxLifetimeSeconds));
  }
  const double seconds = it->get<double>();
  if (seconds >= static_cast<double>(kMaxLifetimeSeconds)) {
    return std::chrono::seconds(kMaxLifetimeSeconds);
  }
  return std::chrono::seconds(static_cast<std::int64_t>(seconds));
}

std::string sign_jwt_rs256(const Json& header, const Json& claims, const std::string& pem_key) {
  const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  std::unique_ptr<BIO, BioDeleter> bio(
      BIO_new_mem_buf(pem_key.data(), static_cast<int>(pem_key.size())));
  if (!bio) throw Error(Errc::internal, "BIO_new_mem_buf failed");
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    throw Error(Errc::invalid_argument, "credentials: private_key is not a PEM private key");
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx) throw Error(Errc::internal, "EVP_MD_CTX_new failed");
  std::size_t size = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw Error(Errc::invalid_argument, "credentials: cannot sign with private_key");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw Error(Errc::invalid_argument, "credentials: signing failed");
  }
  signature.resize(size);
  return input + "." + base64url_encode(signature);
}

TokenSource::TokenSource(const std::string& credentials_file, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  std::ifstream in(credentials_file);
  if (!in) throw Error(Errc::invalid_argument, "cannot read credentials file " + credentials_file);
  std::stringstream text;
  text << in.rdbuf();
  credentials_ = Json::parse(text.str(), nullptr, false);
  if (credentials_.is_discarded() || !credentials_.is_object()) {
    throw Error(Errc::invalid_argument, "credentials file " + credentials_file + " is not JSON");
  }
  const std::string type = credentials_.value("type", "");
  if (type == "service_account") {
    if (!credentials_.contains("client_email") || !credentials_.contains("private_key")) {
      throw Error(Errc::invalid_argument,
                  "credentials file " + credentials_file + " lacks client_email or private_key");
    }
  } else if (type == "authorized_user") {
    if (!credentials_.contains("refresh_token")) {
      throw Error(Errc::invalid_argument,
                  "credentials file " + credentials_file + " lacks refresh_token");
    }
  } else {
    throw Error(Errc::invalid_argument,
                "credentials file " + credentials_file + ": unsupported type \"" + type + "\"");
  }
}

std::string TokenSource::token(bool force_refresh) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::system_clock::now();
  if (force_refresh || token_.empty() || now >= refresh_at_) {
    token_ = mint(now);
  }
  return token_;
}

std::string TokenSource::mint(std::chrono::system_clock::time_point now) {
  const std::string token_uri = credentials_.value("token_uri", kDefaultTokenUri);
  http::Request request;
  request.url = token_uri;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  request.timeout = timeout_;
  request.max_body = detail::kMaxMessageBytes;
  if (credentials_.value("type", "") == "service_account") {
    const auto iat =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    Json header = {{"alg", "RS256"}, {"typ", "JWT"}};
    if (credentials_.contains("private_key_id")) header["kid"] = credentials_["private_key_id"];
    const Json claims = {{"iss", credentials_.value("client_email", "")},
                         {"scope", kScope},
                         {"aud", token_uri},
                         {"iat", iat},
                         {"exp", iat + 3600}};
    const std::string jwt = sign_jwt_rs256(header, claims, credentials_.value("private_key", ""));
    request.body =
        form({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}, {"assertion", jwt}});
  } else {
    request.body = form({{"grant_type", "refresh_token"},
                         {"client_id", credentials_.value("client_id", "")},
                         {"client_secret", credentials_.value("client_secret", "")},
                         {"refresh_token", credentials_.value("refresh_token", "")}});
  }
  const http::Response response = http::perform(request);
  if (response.status != 200) throw provider_error("vertex token exchange", response);
  const Json answer = polaris::detail::parse_untrusted_json(response.body);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("access_token") ||
      !answer["access_token"].is_string()) {
    throw Error(Errc::protocol, "vertex token exchange: answer has no access_token");
  }
  refresh_at_ = now + refresh_after(token_lifetime(answer));
  return answer["access_token"].get<std::string>();
}

}  // namespace polaris::llm
