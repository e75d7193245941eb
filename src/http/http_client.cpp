// http/http_client.cpp - libcurl easy handles wrapped in RAII.
#include "http/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <memory>

#include "polaris/error.hpp"

namespace polaris::http {
namespace {

struct EasyDeleter {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init is not thread-safe and must run once before any handle exists; a function-local
// static gives exactly that (C++ guarantees one thread-safe initialisation) without global mutable
// state. It is never cleaned up: other libraries in the process may still use curl at exit.
void ensure_curl_global() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    throw Error(Errc::internal, std::string("curl_global_init: ") + curl_easy_strerror(rc));
  }
}

struct Transfer {
  const Request* request;
  Response* response;
  const BodyCallback* on_body;
  const std::function<bool()>* cancelled;
  CURL* handle;
  std::exception_ptr error;  // a callback's exception, rethrown after curl returns
};

// Static trampolines: curl is C, so exceptions must never cross it.
size_t on_write(char* data, size_t size, size_t count, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  try {
    long status = 0;
    curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
    const bool success = status >= 200 && status < 300;
    if (success && t->on_body != nullptr && *t->on_body) {
      if (!(*t->on_body)(std::string_view(data, n))) {
        t->response->aborted = true;
        return 0;  // makes curl stop with CURLE_WRITE_ERROR
      }
    } else {
      const std::size_t limit = t->request->max_body;
      if (limit != 0 && t->response->body.size() + n > limit) {
        t->response->body = std::string();
        throw Error(Errc::payload_too_large,
                    t->request->method + " " + t->request->url +
                        ": the response body is larger than the limit of " + std::to_string(limit) +
                        " bytes");
      }
      t->response->body.append(data, n);
    }
    return n;
  } catch (...) {
    t->error = std::current_exception();
    return 0;
  }
}

size_t on_header(char* data, size_t size, size_t count, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  try {
    std::string_view line(data, n);
    if (line.rfind("HTTP/", 0) == 0) {
      t->response->headers.clear();  // a new response (after 100-continue or a redirect)
      return n;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return n;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    t->response->headers[name] = std::string(value);
    return n;
  } catch (...) {
    t->error = std::current_exception();
    return 0;
  }
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
  auto* t = static_cast<Transfer*>(user);
  try {
    if (t->cancelled != nullptr && *t->cancelled && (*t->cancelled)()) {
      t->response->aborted = true;
      return 1;  // makes curl stop with CURLE_ABORTED_BY_CALLBACK
    }
    return 0;
  } catch (...) {
    t->error = std::current_exception();
    return 1;
  }
}

void check(CURLcode rc, const char* what) {
  if (rc != CURLE_OK) {
    throw Error(Errc::internal,
                std::string("curl_easy_setopt(") + what + "): " + curl_easy_strerror(rc));
  }
}

}  // namespace

std::string Response::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

// The request's headers as a curl list. An empty "Expect:" stops curl from waiting for
// 100-continue before large bodies (long conversations), which costs a second against servers
// that do not answer it.
SlistPtr header_list(const Request& request) {
  SlistPtr headers;
  auto all_headers = request.headers;
  all_headers.emplace_back("Expect", "");
  for (const auto& [name, value] : all_headers) {
    std::string line = name;
    line.append(value.empty() ? ":" : ": ").append(value);
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) throw Error(Errc::internal, "curl_slist_append failed");
    (void)headers.release();  // curl_slist_append returns the same list head, now owning more
    headers.reset(next);
  }
  return headers;
}

void set_options(CURL* h, const Request& request, curl_slist* headers, Transfer& transfer,
                 char* error_buffer) {
  check(curl_easy_setopt(h, CURLOPT_URL, request.url.c_str()), "URL");
  check(curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str()), "CUSTOMREQUEST");
  if (request.method == "POST" || !request.body.empty()) {
    check(curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data()), "POSTFIELDS");
    check(curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(request.body.size())),
          "POSTFIELDSIZE");
  }
  check(curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers), "HTTPHEADER");
  check(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_write), "WRITEFUNCTION");
  check(curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer), "WRITEDATA");
  check(curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header), "HEADERFUNCTION");
  check(curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer), "HEADERDATA");
  check(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer), "ERRORBUFFER");
  check(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         static_cast<long>(request.connect_timeout.count())),
        "CONNECTTIMEOUT_MS");
  check(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count())),
        "TIMEOUT_MS");
  // Signals are process-wide; threads that use curl must not rely on SIGALRM for DNS timeouts.
  check(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL");
  check(curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""), "ACCEPT_ENCODING");
  check(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https"), "PROTOCOLS_STR");
  if (request.cancelled) {
    check(curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress), "XFERINFOFUNCTION");
    check(curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer), "XFERINFODATA");
    check(curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L), "NOPROGRESS");
  }
}

}  // namespace

Response perform(const Request& request, const BodyCallback& on_body) {
  ensure_curl_global();
  EasyPtr handle(curl_easy_init());
  if (!handle) throw Error(Errc::internal, "curl_easy_init failed");
  CURL* h = handle.get();
  const SlistPtr headers = header_list(request);
  Response response;
  Transfer transfer{&request, &response, &on_body, &request.cancelled, h, nullptr};
  char error_buffer[CURL_ERROR_SIZE] = {};
  set_options(h, request, headers.get(), transfer, error_buffer);

  const CURLcode rc = curl_easy_perform(h);
  if (transfer.error) std::rethrow_exception(transfer.error);
  if ((rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK) && response.aborted) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }
  if (rc != CURLE_OK) {
    const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    throw Error(Errc::connection_failed, request.method + " " + request.url + ": " + detail);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace polaris::http
