// JSON lines for log shippers: one object per record, every string escaped by the JSON library.
#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include "common/rfc3339.hpp"
#include "polaris/json.hpp"
#include "polaris/logging.hpp"

namespace polaris {
namespace {

/// Thread safety: spdlog calls format() under the sink's lock; the class has no state.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    // Ordered, so that every line starts with the time, as people reading raw logs expect.
    const nlohmann::ordered_json line{
        {"time", detail::rfc3339(msg.time)},
        {"level", std::string(level.data(), level.size())},
        {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
        {"message", std::string(msg.payload.data(), msg.payload.size())}};
    // Invalid UTF-8 (e.g. from a child's output) is replaced rather than failing the record.
    const std::string text =
        line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }

  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLogFormatter>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_json_log_formatter() {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace polaris
