// tests/llm/fake_tools.hpp - an in-process tool backend, for model-side tests that need no
// registry (the registry round trips are in session_registry_test.cpp).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "llm/tool_backend.hpp"
#include "polaris/error.hpp"

namespace polaris::test {

/// Thread safety: call() may run concurrently; set up tools before the session runs.
class FakeTools final : public llm::ToolBackend {
 public:
  using Fn = std::function<Json(const Json&)>;  // throw polaris::Error to fail

  void add(const std::string& name, const Json& parameters, Fn fn) {
    tools_[name] = {name, "test tool " + name, parameters, Json(), Json::object()};
    fns_[name] = std::move(fn);
  }
  std::vector<ToolDeclaration> list() override {
    std::vector<ToolDeclaration> out;
    for (const auto& [name, decl] : tools_) out.push_back(decl);
    return out;
  }
  std::vector<std::string> local() override { return local_; }
  Json call(const std::string& name, const Json& arguments,
            std::optional<std::chrono::milliseconds>,
            const std::function<void(const Json&)>&) override {
    {
      std::lock_guard lock(mutex_);
      calls_.push_back({name, arguments});
    }
    const auto it = fns_.find(name);
    if (it == fns_.end()) throw Error(Errc::no_such_tool, "no such tool: " + name);
    return it->second(arguments);
  }
  std::vector<std::pair<std::string, Json>> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<std::string> local_{};

 private:
  std::map<std::string, ToolDeclaration> tools_;
  std::map<std::string, Fn> fns_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, Json>> calls_;
};

/// Two (or n) parties each wait until all have arrived, or give up after `limit`: proves that
/// handlers run at the same time without a sleep (a sequential run fails instead of hanging).
class Rendezvous {
 public:
  explicit Rendezvous(int parties) : parties_(parties) {}
  bool arrive_and_wait(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    if (++arrived_ == parties_) cv_.notify_all();
    return cv_.wait_for(lock, limit, [this] { return arrived_ >= parties_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int parties_;
  int arrived_ = 0;
};

}  // namespace polaris::test
