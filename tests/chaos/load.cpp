#include "chaos/load.hpp"

#include <algorithm>
#include <map>

#include "support/wait.hpp"

namespace polaris::test {
namespace {

/// Scheduling slack allowed beyond a call's deadline on a loaded machine.
constexpr auto kDeadlineSlack = std::chrono::seconds(2);

}  // namespace

Load::Load(Connection& connection, std::string tool, int threads, std::chrono::milliseconds timeout)
    : connection_(connection), tool_(std::move(tool)), timeout_(timeout) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

Load::~Load() { stop(); }

void Load::run() {
  while (!stopping_) {
    Record record{.seq = next_seq_++, .start = Clock::now()};
    try {
      const Json reply =
          connection_.call(tool_, {{"seq", record.seq}}, CallOptions{.timeout = timeout_});
      record.ok = reply.value("seq", std::int64_t{-1}) == record.seq;
      record.agent = reply.value("agent", std::string());
      if (!record.ok) record.message = "wrong answer: " + reply.dump();
    } catch (const Error& error) {
      record.code = error.code();
      record.message = error.what();
    }
    record.end = Clock::now();
    std::lock_guard lock(mutex_);
    if (record.ok) {
      ++successes_;
    } else {
      const bool clear = !record.message.empty() && record.code != Errc::internal &&
                         record.code != Errc::protocol && record.code != Errc::tool_failed;
      if (!clear) {
        violations_.push_back("seq " + std::to_string(record.seq) + ": unclear failure (" +
                              std::string(to_string(record.code)) + "): " + record.message);
      }
    }
    if (record.end - record.start > timeout_ + kDeadlineSlack) {
      violations_.push_back("seq " + std::to_string(record.seq) + " took " +
                            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               record.end - record.start)
                                               .count()) +
                            " ms, beyond its deadline");
    }
    records_.push_back(std::move(record));
  }
}

bool Load::await_successes(std::size_t count) const {
  return wait_until([&] { return successes_ >= count; }, std::chrono::seconds(30));
}

void Load::stop() {
  stopping_ = true;
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

Load::Summary Load::summary() const {
  std::lock_guard lock(mutex_);
  Summary summary;
  summary.calls = records_.size();
  std::vector<Clock::time_point> successes;
  std::map<std::string, int> by_code;
  Clock::time_point first = Clock::time_point::max();
  for (const auto& record : records_) {
    first = std::min(first, record.start);
    if (record.ok) {
      ++summary.succeeded;
      successes.push_back(record.end);
    } else {
      ++summary.failed;
      ++by_code[std::string(to_string(record.code))];
    }
  }
  std::sort(successes.begin(), successes.end());
  for (std::size_t i = 1; i < successes.size(); ++i) {
    summary.longest_gap = std::max(
        summary.longest_gap,
        std::chrono::duration_cast<std::chrono::milliseconds>(successes[i] - successes[i - 1]));
  }
  for (const auto& [code, count] : by_code) {
    summary.failures_by_code +=
        (summary.failures_by_code.empty() ? "" : ", ") + code + " " + std::to_string(count);
  }
  return summary;
}

std::string Load::Summary::line() const {
  return "calls " + std::to_string(calls) + ", succeeded " + std::to_string(succeeded) +
         ", failed " + std::to_string(failed) +
         (failures_by_code.empty() ? "" : " (" + failures_by_code + ")") + ", longest gap " +
         std::to_string(longest_gap.count()) + " ms";
}

std::vector<Load::Record> Load::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

std::vector<std::int64_t> Load::succeeded_seqs() const {
  std::vector<std::int64_t> seqs;
  std::lock_guard lock(mutex_);
  for (const auto& record : records_) {
    if (record.ok) seqs.push_back(record.seq);
  }
  return seqs;
}

std::vector<std::string> Load::failures() const {
  std::lock_guard lock(mutex_);
  return violations_;
}

}  // namespace polaris::test
