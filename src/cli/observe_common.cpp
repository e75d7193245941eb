#include "cli/observe_common.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "cli/common.hpp"
#include "polaris/error.hpp"
#include "transport/nats_options.hpp"

namespace polaris::cli {

std::optional<detail::NatsConnectionPtr> connect_plain(const std::vector<std::string>& servers,
                                                       int& exit_code) {
  try {
    ConnectOptions options{.servers = servers, .name = "polaris-cli"};
    // Credentials as every client command takes them, so that status and stats work against a
    // registry with authentication.
    apply_credentials_from_env(options);
    auto nats_options = detail::make_nats_options(options, {});
    return detail::connect_nats(nats_options.get(), options.servers);
  } catch (const Error& error) {
    print_error(error.what());
    exit_code = kCannotConnect;
    return std::nullopt;
  }
}

std::string format_ms(double milliseconds) { return fmt::format("{:.3f}", milliseconds); }

std::string format_uptime(double seconds) {
  const auto total = static_cast<long long>(seconds);
  const long long days = total / 86400;
  const long long hours = (total % 86400) / 3600;
  const long long minutes = (total % 3600) / 60;
  const long long secs = total % 60;
  if (days > 0) return fmt::format("{}d{:02}h", days, hours);
  if (hours > 0) return fmt::format("{}h{:02}m", hours, minutes);
  if (minutes > 0) return fmt::format("{}m{:02}s", minutes, secs);
  return fmt::format("{}s", secs);
}

}  // namespace polaris::cli
