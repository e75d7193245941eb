// tests/llm/fake_server.cpp
#include "fake_server.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

namespace polaris::test {

std::string Received::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

FakeServer::FakeServer() {
  // Catch-all routes (a pre-routing handler would run before the body is read).
  const auto handle = [this](const httplib::Request& req, httplib::Response& res) {
    Received r;
    r.method = req.method;
    r.target = req.target;
    r.body = req.body;
    for (const auto& [name, value] : req.headers) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      r.headers.emplace(lower, value);
    }
    const Reply reply = answer(r);
    res.status = reply.status;
    for (const auto& [name, value] : reply.headers) res.set_header(name, value);
    if (reply.chunks.empty()) {
      res.set_content(reply.body, reply.content_type);
    } else {
      auto chunks = std::make_shared<std::vector<std::string>>(reply.chunks);
      res.set_chunked_content_provider(
          reply.content_type,
          [chunks, i = std::size_t{0}](size_t, httplib::DataSink& sink) mutable {
            if (i < chunks->size()) {
              const auto& c = (*chunks)[i++];
              sink.write(c.data(), c.size());
            } else {
              sink.done();
            }
            return true;
          });
    }
  };
  server_.Post(".*", handle);
  server_.Get(".*", handle);
  server_.Put(".*", handle);
  server_.Delete(".*", handle);
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs; wait for it so the destructor can stop it.
  while (!server_.is_running()) std::this_thread::yield();
}

FakeServer::~FakeServer() {
  server_.stop();
  thread_.join();
}

std::string FakeServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeServer::expect(const std::string& method, const std::string& target, Reply reply) {
  std::lock_guard lock(mutex_);
  queued_[method + " " + target].push_back(std::move(reply));
}

void FakeServer::on(const std::string& method, const std::string& target, Handler handler) {
  std::lock_guard lock(mutex_);
  handlers_[method + " " + target] = std::move(handler);
}

std::vector<Received> FakeServer::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::size_t FakeServer::pending() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [key, replies] : queued_) n += replies.size();
  return n;
}

Reply FakeServer::answer(const Received& request) {
  Handler handler;
  {
    std::lock_guard lock(mutex_);
    received_.push_back(request);
    const std::string key = request.method + " " + request.target;
    if (auto it = queued_.find(key); it != queued_.end() && !it->second.empty()) {
      Reply reply = std::move(it->second.front());
      it->second.pop_front();
      return reply;
    }
    if (auto it = handlers_.find(key); it != handlers_.end()) handler = it->second;
  }
  if (handler) return handler(request);
  // 418: not retried by the client, and plainly not from a real provider.
  return Reply{.status = 418,
               .body = R"({"error":{"message":"unexpected request )" + request.method + " " +
                       request.target + R"("}})"};
}

}  // namespace polaris::test
