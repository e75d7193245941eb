// Splitting a byte stream into lines, whatever the read boundaries.
#include <gtest/gtest.h>

#include "common/line_buffer.hpp"

namespace polaris::detail {
namespace {

TEST(LineBuffer, LinesSpanReadsAndDropCarriageReturns) {
  LineBuffer buffer;
  std::vector<std::string> lines;
  const auto collect = [&](std::string_view line) { lines.emplace_back(line); };
  buffer.append("first\r\nsec", collect);
  EXPECT_EQ(lines, std::vector<std::string>{"first"});
  buffer.append("ond\n\nthird", collect);
  EXPECT_EQ(lines, (std::vector<std::string>{"first", "second", ""}));
  EXPECT_EQ(buffer.take_rest(), "third");
  EXPECT_EQ(buffer.take_rest(), "");
}

}  // namespace
}  // namespace polaris::detail
