#include "client/tool_stats.hpp"

#include <algorithm>
#include <cmath>
#include <exception>

namespace polaris::detail {
namespace {

constexpr std::array<std::int64_t, 10> kMantissas{1000, 1250, 1500, 2000, 2500,
                                                  3000, 4000, 5000, 6000, 8000};

constexpr std::array<std::int64_t, LatencyHistogram::kBounds> make_bounds() {
  std::array<std::int64_t, LatencyHistogram::kBounds> bounds{};
  std::int64_t decade = 1;  // nanoseconds per unit of the mantissa: 1 ns * 1000 = 1 us
  std::size_t i = 0;
  for (int d = 0; d < 8; ++d, decade *= 10) {
    for (const auto mantissa : kMantissas) bounds[i++] = mantissa * decade;
  }
  bounds[i] = 100'000'000'000;  // 100 s
  return bounds;
}

constexpr std::array<std::int64_t, LatencyHistogram::kBounds> kBoundsNs = make_bounds();
static_assert(kBoundsNs[0] == 1000 && kBoundsNs[79] == 80'000'000'000);

void raise_max(std::atomic<std::int64_t>& max, std::int64_t value) noexcept {
  std::int64_t seen = max.load(std::memory_order_relaxed);
  while (value > seen && !max.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

const std::array<std::int64_t, LatencyHistogram::kBounds>& LatencyHistogram::bounds() noexcept {
  return kBoundsNs;
}

void LatencyHistogram::record(std::chrono::nanoseconds duration) noexcept {
  const auto it = std::lower_bound(kBoundsNs.begin(), kBoundsNs.end(), duration.count());
  counts_[static_cast<std::size_t>(it - kBoundsNs.begin())].fetch_add(1, std::memory_order_relaxed);
}

std::array<std::uint64_t, LatencyHistogram::kBuckets> LatencyHistogram::snapshot() const noexcept {
  std::array<std::uint64_t, kBuckets> counts{};
  for (std::size_t i = 0; i < kBuckets; ++i) counts[i] = counts_[i].load(std::memory_order_relaxed);
  return counts;
}

std::chrono::nanoseconds LatencyHistogram::quantile(
    const std::array<std::uint64_t, kBuckets>& counts, double q,
    std::chrono::nanoseconds max) noexcept {
  std::uint64_t total = 0;
  for (const auto count : counts) total += count;
  if (total == 0) return std::chrono::nanoseconds(0);
  const double rank = std::max(1.0, std::ceil(q * static_cast<double>(total)));
  double seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (counts[i] == 0) continue;
    if (seen + static_cast<double>(counts[i]) >= rank) {
      const double lower = i == 0 ? 0.0 : static_cast<double>(kBoundsNs[i - 1]);
      const double upper =
          i < kBounds ? static_cast<double>(kBoundsNs[i]) : static_cast<double>(max.count());
      const double fraction = (rank - seen) / static_cast<double>(counts[i]);
      const auto estimate = static_cast<std::int64_t>(lower + (upper - lower) * fraction);
      return std::chrono::nanoseconds(max.count() > 0 ? std::min(estimate, max.count()) : estimate);
    }
    seen += static_cast<double>(counts[i]);
  }
  return max;
}

ToolStats::Call::Call(ToolStats& stats) noexcept
    : stats_(&stats), start_(std::chrono::steady_clock::now()) {
  stats_->requests_.fetch_add(1, std::memory_order_relaxed);
  stats_->in_flight_.fetch_add(1, std::memory_order_relaxed);
}

ToolStats::Call::~Call() {
  if (stats_ != nullptr) finish(false, "the call was abandoned");
}

void ToolStats::Call::finish(bool ok, std::string_view error) noexcept {
  if (stats_ == nullptr) return;
  stats_->finished(std::chrono::steady_clock::now() - start_, ok, error);
  stats_ = nullptr;
}

void ToolStats::finished(std::chrono::nanoseconds duration, bool ok,
                         std::string_view error) noexcept {
  latency_.record(duration);
  total_ns_.fetch_add(duration.count(), std::memory_order_relaxed);
  raise_max(max_ns_, duration.count());
  if (!ok) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    remember_error(error);
  }
  completed_.fetch_add(1, std::memory_order_relaxed);
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
}

void ToolStats::record_busy(std::string_view message) noexcept {
  busy_.fetch_add(1, std::memory_order_relaxed);
  record_refused(message);
}

void ToolStats::record_refused(std::string_view message) noexcept {
  requests_.fetch_add(1, std::memory_order_relaxed);
  errors_.fetch_add(1, std::memory_order_relaxed);
  remember_error(message);
}

void ToolStats::remember_error(std::string_view error) noexcept {
  try {
    std::lock_guard lock(error_mutex_);
    last_error_.assign(error);
  } catch (...) {  // NOLINT(bugprone-empty-catch): statistics must never fail a call
  }
}

ToolStats::Snapshot ToolStats::snapshot() const {
  Snapshot snapshot;
  snapshot.requests = requests_.load(std::memory_order_relaxed);
  snapshot.errors = errors_.load(std::memory_order_relaxed);
  snapshot.busy = busy_.load(std::memory_order_relaxed);
  snapshot.in_flight = in_flight_.load(std::memory_order_relaxed);
  snapshot.completed = completed_.load(std::memory_order_relaxed);
  snapshot.total = std::chrono::nanoseconds(total_ns_.load(std::memory_order_relaxed));
  snapshot.max = std::chrono::nanoseconds(max_ns_.load(std::memory_order_relaxed));
  snapshot.latency = latency_.snapshot();
  std::lock_guard lock(error_mutex_);
  snapshot.last_error = last_error_;
  return snapshot;
}

std::shared_ptr<ToolStats> instrument(Tool& tool) {
  auto stats = std::make_shared<ToolStats>();
  tool.handler = [stats, handler = std::move(tool.handler)](const Request& request) -> Result {
    ToolStats::Call call(*stats);
    try {
      Result result = handler(request);
      if (!result.ok()) {
        call.finish(false, result.error_message());
      } else if (!result.value().is_object()) {
        call.finish(false, "the handler returned a JSON " +
                               std::string(result.value().type_name()) + ", not an object");
      } else {
        call.finish(true);
      }
      return result;
    } catch (const std::exception& error) {
      call.finish(false, error.what());
      throw;
    } catch (...) {
      call.finish(false, "the handler threw a non-standard exception");
      throw;
    }
  };
  return stats;
}

Json stats_data(const ToolStats::Snapshot& snapshot) {
  auto ms = [](std::chrono::nanoseconds duration) {
    return static_cast<double>(duration.count()) / 1e6;
  };
  Json buckets = Json::array();
  const auto& bounds = LatencyHistogram::bounds();
  for (std::size_t i = 0; i < snapshot.latency.size(); ++i) {
    if (snapshot.latency[i] == 0) continue;
    buckets.push_back(Json::array({i < bounds.size() ? bounds[i] : -1, snapshot.latency[i]}));
  }
  return Json{
      {"in_flight", snapshot.in_flight},
      {"busy", snapshot.busy},
      {"completed", snapshot.completed},
      {"max_ns", snapshot.max.count()},
      {"latency_ms",
       {{"p50", ms(LatencyHistogram::quantile(snapshot.latency, 0.5, snapshot.max))},
        {"p90", ms(LatencyHistogram::quantile(snapshot.latency, 0.9, snapshot.max))},
        {"p99", ms(LatencyHistogram::quantile(snapshot.latency, 0.99, snapshot.max))},
        {"max", ms(snapshot.max)}}},
      {"latency_buckets", std::move(buckets)},
  };
}

}  // namespace polaris::detail
