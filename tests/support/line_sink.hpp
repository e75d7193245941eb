// Test support: a spdlog sink that keeps what is logged through it, to await a log line.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace polaris::test {

/// Keeps the message of every record. Thread safety: as any spdlog sink (locked).
class LineSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  /// True when a kept message contains `text`.
  bool contains(std::string_view text) {
    std::lock_guard lock(mutex_);
    return std::any_of(lines_.begin(), lines_.end(),
                       [&](const std::string& line) { return line.find(text) != line.npos; });
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

}  // namespace polaris::test
