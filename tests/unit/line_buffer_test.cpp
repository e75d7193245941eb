// Splitting a byte stream into lines, whatever the read boundaries.
#include <gtest/gtest.h>

#include "common/line_buffer.hpp"
#include "polaris/error.hpp"

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

TEST(LineBuffer, ALineOverTheLimitThrowsWhetherCompleteOrGrowing) {
  std::vector<std::string> lines;
  const auto collect = [&](std::string_view line) { lines.emplace_back(line); };
  LineBuffer buffer(4);
  buffer.append("abcd\r\nab", collect);  // "abcd" is at the limit; a "\r\n" does not count
  buffer.append("cd\r", collect);        // nor does a "\r" that may start one
  buffer.append("\n", collect);
  EXPECT_EQ(lines, (std::vector<std::string>{"abcd", "abcd"}));
  try {
    buffer.append("abcde", collect);  // no newline yet, already too long
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::payload_too_large);
    EXPECT_STREQ(e.what(), "a line is larger than the limit of 4 bytes");
  }
  EXPECT_EQ(buffer.take_rest(), "");  // emptied
  LineBuffer complete(4);
  EXPECT_THROW(complete.append("abcde\n", collect), Error);  // complete in one read
  EXPECT_EQ(lines.size(), 2u);
}

TEST(LineBuffer, ALongLineInSmallReadsIsNotRescannedFromTheStart) {
  // 64 MiB in 4 KiB reads took minutes when every read searched the whole line for a newline.
  LineBuffer buffer;
  const std::string chunk(4096, 'x');
  std::size_t count = 0;
  for (int i = 0; i < 16384; ++i) buffer.append(chunk, [&](std::string_view) { ++count; });
  buffer.append("\n", [&](std::string_view line) {
    ++count;
    EXPECT_EQ(line.size(), std::size_t{64} * 1024 * 1024);
  });
  EXPECT_EQ(count, 1u);
}

}  // namespace
}  // namespace polaris::detail
