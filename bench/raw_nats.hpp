// What the benchmarks that compare polaris with raw nats.c share: the baseline's connection and
// the order statistics their tables report.
#pragma once

#include <nats/nats.h>

#include <algorithm>
#include <string>
#include <vector>

#include "transport/nats_error.hpp"
#include "transport/nats_handles.hpp"

namespace polaris::bench {

/// A plain nats.c connection with the same low-latency setting polaris uses (send-asap).
inline detail::NatsConnectionPtr raw_connect(const std::string& url) {
  natsOptions* options = nullptr;
  detail::check_nats(natsOptions_Create(&options), "options");
  detail::NatsOptionsPtr owned(options);
  natsOptions_SetURL(options, url.c_str());
  natsOptions_SetSendAsap(options, true);
  natsConnection* connection = nullptr;
  detail::check_nats(natsConnection_Connect(&connection, options), "raw connect");
  return detail::NatsConnectionPtr(connection);
}

/// The value below which `fraction` of `values` lie (nearest rank); 0 for no values.
inline double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1))];
}

inline double median(std::vector<double> values) { return percentile(std::move(values), 0.5); }

}  // namespace polaris::bench
