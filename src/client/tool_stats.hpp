// Internal: an agent's per-tool call counters (answered on $SRV.STATS, scraped as metrics).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/json.hpp"
#include "polaris/tool.hpp"

namespace polaris::detail {

/// Call latencies in fixed buckets: 10 per decade (1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a
/// power of ten) from 1 us to 100 s, plus one overflow bucket.
///
/// Why a histogram and not a reservoir: it takes fixed memory (82 counters), recording is one
/// binary search and one relaxed atomic increment (no lock, no allocation on the call path), it
/// never forgets old calls the way a sampled reservoir does, and histograms of several agents
/// add up bucket by bucket, so the registry can merge every agent's latencies into one
/// Prometheus histogram. The price is resolution: a percentile is known to within its bucket
/// (at most 25%), which is what operators need from a latency percentile.
///
/// Thread safety: record() and snapshot() may be called from any thread at once; a snapshot
/// taken during calls may miss the calls being recorded at that instant.
class LatencyHistogram {
 public:
  static constexpr std::size_t kBounds = 81;
  static constexpr std::size_t kBuckets = kBounds + 1;  ///< the last one: above 100 s

  /// Upper bounds of the buckets in nanoseconds (inclusive), ascending.
  static const std::array<std::int64_t, kBounds>& bounds() noexcept;

  void record(std::chrono::nanoseconds duration) noexcept;
  [[nodiscard]] std::array<std::uint64_t, kBuckets> snapshot() const noexcept;

  /// The q-quantile (0 < q <= 1) of `counts`, interpolated linearly inside its bucket and
  /// capped by `max`; 0 without samples.
  static std::chrono::nanoseconds quantile(const std::array<std::uint64_t, kBuckets>& counts,
                                           double q, std::chrono::nanoseconds max) noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> counts_{};
};

/// One tool's counters on one agent.
///
/// Thread safety: all methods may be called from any thread at once. Counting is lock-free;
/// only a failure takes a mutex (to keep its message).
class ToolStats {
 public:
  /// A call in flight: counted as running from construction until finish() (or destruction,
  /// which counts it as failed with `abandoned`).
  class Call {
   public:
    explicit Call(ToolStats& stats) noexcept;
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    /// Records the outcome; `error` is ignored when `ok`.
    void finish(bool ok, std::string_view error = {}) noexcept;

   private:
    ToolStats* stats_;
    std::chrono::steady_clock::time_point start_;
  };

  struct Snapshot {
    std::uint64_t requests = 0;  ///< calls that reached the handler, plus refusals
    std::uint64_t errors = 0;    ///< failed calls, plus refusals
    std::uint64_t busy = 0;      ///< refused because the tool's pool was full
    std::uint64_t in_flight = 0;
    std::uint64_t completed = 0;        ///< calls whose handler returned (or threw)
    std::chrono::nanoseconds total{0};  ///< handler time of the completed calls
    std::chrono::nanoseconds max{0};
    std::string last_error;
    std::array<std::uint64_t, LatencyHistogram::kBuckets> latency{};
  };

  /// Counts a call the agent refused because the tool was busy.
  void record_busy(std::string_view message) noexcept;
  /// Counts a call refused before its handler ran (bad request, deadline already passed).
  void record_refused(std::string_view message) noexcept;
  [[nodiscard]] Snapshot snapshot() const;

 private:
  void finished(std::chrono::nanoseconds duration, bool ok, std::string_view error) noexcept;
  void remember_error(std::string_view error) noexcept;

  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> busy_{0};
  std::atomic<std::uint64_t> in_flight_{0};
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::int64_t> total_ns_{0};
  std::atomic<std::int64_t> max_ns_{0};
  LatencyHistogram latency_;
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

/// Wraps `tool.handler` so that every call of it (remote or local) is counted in the returned
/// stats: a handler error, a non-object result or an exception counts as an error. Requests the
/// library refuses before the handler runs (not JSON, invalid arguments) are counted by the
/// caller of the handler, through ToolStats::record_refused.
std::shared_ptr<ToolStats> instrument(Tool& tool);

/// The stats as JSON for $SRV.STATS (the `data` of an endpoint): in_flight, busy, completed,
/// max_ns, latency_ms {p50, p90, p99, max} and the non-empty histogram buckets
/// `latency_buckets: [[upper bound in ns (-1: above the last bound), count], ...]`.
Json stats_data(const ToolStats::Snapshot& snapshot);

}  // namespace polaris::detail
