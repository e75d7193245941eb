// Internal: how listing commands print: -o table|json|wide, terminals, colour, table widths.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "polaris/json.hpp"

namespace polaris::cli {

enum class Format { table, json, wide, name };

/// What -o/--output and its alias --json set.
struct OutputFlags {
  std::string output = "table";
  bool json = false;
  [[nodiscard]] Format format() const;
};

/// Adds -o/--output table|json|wide and --json (the same as -o json) to a listing command.
/// `json_shape` says what the JSON is, for the help text.
/// `names`: also -o name (one name per line, e.g. for shell completion).
void add_output_options(CLI::App& command, OutputFlags& flags, const std::string& json_shape,
                        bool names = false);

/// Where output goes to a person: standard output is a terminal.
bool stdout_is_terminal();
/// Colour only on a terminal, and not when NO_COLOR is set to anything (no-color.org).
bool colour_enabled();
/// The width tables must fit: $COLUMNS when set, else the terminal's; 0 (no limit) when
/// standard output is not a terminal.
std::size_t output_width();

/// Pretty (indented) on a terminal, one compact line otherwise; always ends with a newline.
std::string format_json(const Json& value);

/// Display columns of UTF-8 text (code points; no wide or combining characters assumed).
std::size_t display_width(const std::string& text);
/// `text` cut to `width` columns, ending with "…" when cut.
std::string ellipsize(const std::string& text, std::size_t width);

struct TableStyle {
  /// Total width to fit (0: none); the `shrink` columns give way in this order, cut with "…"
  /// (never narrower than their header or 8 columns).
  std::size_t width = 0;
  std::vector<std::size_t> shrink;
  /// SGR colour of a body cell (e.g. "32" green), "" for none; applied after padding, so it
  /// does not disturb the alignment.
  std::function<std::string(std::size_t row, std::size_t column, const std::string& text)> colour;
};

/// Rows as left-aligned columns separated by two spaces (the first row is the header).
std::string format_table(std::vector<std::vector<std::string>> rows, const TableStyle& style = {});

}  // namespace polaris::cli
