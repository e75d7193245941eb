#include "cli/output.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace polaris::cli {

Format OutputFlags::format() const {
  if (json) return Format::json;
  if (output == "json") return Format::json;
  if (output == "wide") return Format::wide;
  if (output == "name") return Format::name;
  return Format::table;
}

void add_output_options(CLI::App& command, OutputFlags& flags, const std::string& json_shape,
                        bool names) {
  command
      .add_option("-o,--output", flags.output,
                  "Output format: table (fits the terminal), wide (every column in full)" +
                      std::string(names ? ", name (one name per line)" : "") + " or json (" +
                      json_shape + "; indented on a terminal, one line otherwise)")
      ->check(names ? CLI::IsMember({"table", "json", "wide", "name"})
                    : CLI::IsMember({"table", "json", "wide"}))
      ->capture_default_str();
  command.add_flag("--json", flags.json, "The same as -o json");
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

bool colour_enabled() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
  const char* no_colour = std::getenv("NO_COLOR");
  return stdout_is_terminal() && (no_colour == nullptr || *no_colour == '\0');
}

std::size_t output_width() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr && *columns != '\0') {
    char* end = nullptr;
    const long value = std::strtol(columns, &end, 10);
    if (*end == '\0' && value > 0) return static_cast<std::size_t>(value);
  }
  if (!stdout_is_terminal()) return 0;
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 0;
}

std::string format_json(const Json& value) {
  return value.dump(stdout_is_terminal() ? 2 : -1, ' ', false, Json::error_handler_t::replace) +
         "\n";
}

std::size_t display_width(const std::string& text) {
  // Count every byte that does not continue a UTF-8 sequence.
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  }));
}

std::string ellipsize(const std::string& text, std::size_t width) {
  if (display_width(text) <= width) return text;
  if (width == 0) return {};
  std::string cut;
  std::size_t columns = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool starts = (static_cast<unsigned char>(text[i]) & 0xC0U) != 0x80U;
    if (starts && ++columns > width - 1) break;
    cut += text[i];
  }
  return cut + "…";
}

std::string format_table(std::vector<std::vector<std::string>> rows, const TableStyle& style) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  auto total = [&] {
    std::size_t sum = 0;
    for (const auto width : widths) sum += width + 2;
    return sum > 2 ? sum - 2 : sum;
  };
  for (const std::size_t column : style.shrink) {
    if (style.width == 0 || column >= widths.size() || total() <= style.width) break;
    const std::size_t floor = std::max<std::size_t>(
        rows.empty() || column >= rows.front().size() ? 0 : display_width(rows.front()[column]), 8);
    const std::size_t excess = total() - style.width;
    const std::size_t wanted = widths[column] > excess ? widths[column] - excess : 0;
    widths[column] = std::min(widths[column], std::max(wanted, floor));
    for (auto& row : rows) {
      if (column < row.size()) row[column] = ellipsize(row[column], widths[column]);
    }
  }
  std::string text;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string colour = r > 0 && style.colour ? style.colour(r, i, row[i]) : "";
      line += colour.empty() ? row[i] : "\033[" + colour + "m" + row[i] + "\033[0m";
      if (i + 1 < row.size()) line += std::string(widths[i] - display_width(row[i]) + 2, ' ');
    }
    text += line + "\n";
  }
  return text;
}

}  // namespace polaris::cli
