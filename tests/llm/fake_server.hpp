// tests/llm/fake_server.hpp - a real HTTP server on a free loopback port that plays a provider's
// side: queued replies per (method, path), custom handlers, and a record of what it received.
#pragma once

#include <httplib.h>

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "polaris/json.hpp"

namespace polaris::test {

struct Received {
  std::string method;
  std::string target;  ///< path with query, e.g. /v1beta/models/m:streamGenerateContent?alt=sse
  std::string body{};
  std::multimap<std::string, std::string> headers;  ///< names lower-cased
  [[nodiscard]] std::string header(const std::string& lower_name) const;
  /// The body parsed as JSON (discarded when it is not JSON).
  [[nodiscard]] Json json() const { return Json::parse(body, nullptr, false); }
};

struct Reply {
  int status = 200;
  std::string body{};
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers{};
  /// Non-empty: the body is sent as these chunks, one write each (a real stream).
  std::vector<std::string> chunks{};
};

/// Thread safety: all methods may be called from any thread; handlers run on server threads.
class FakeServer {
 public:
  using Handler = std::function<Reply(const Received&)>;

  FakeServer();
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  /// e.g. "http://127.0.0.1:41234"
  [[nodiscard]] std::string url() const;
  /// Queues `reply` for the next request with this method and target (FIFO per target).
  void expect(const std::string& method, const std::string& target, Reply reply);
  /// Answers every request to `target` with `handler` (after queued replies are used up).
  void on(const std::string& method, const std::string& target, Handler handler);
  /// Everything received so far, in order.
  [[nodiscard]] std::vector<Received> received() const;
  /// Replies still queued (0 when the exchange went as scripted).
  [[nodiscard]] std::size_t pending() const;

 private:
  Reply answer(const Received& request);

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, std::deque<Reply>> queued_;  // key: "METHOD target"
  std::map<std::string, Handler> handlers_;
  std::vector<Received> received_;
};

}  // namespace polaris::test
