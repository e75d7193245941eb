// The SSE parser, fed in every possible split.
#include "http/sse.hpp"

#include <gtest/gtest.h>

#include "polaris/error.hpp"

namespace polaris::http {
namespace {

std::vector<SseEvent> parse_split(std::string_view text, std::size_t split) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& e) { events.push_back(e); });
  parser.feed(text.substr(0, split));
  parser.feed(text.substr(split));
  parser.finish();
  return events;
}

TEST(SseParser, ParsesEventsInAnySplit) {
  const std::string text =
      ": comment\r\nevent: update\r\ndata: {\"a\":\r\ndata: 1}\r\nid: 7\r\n\r\ndata: [DONE]\n\n";
  for (std::size_t split = 0; split <= text.size(); ++split) {
    const auto events = parse_split(text, split);
    ASSERT_EQ(events.size(), 2u) << "split " << split;
    EXPECT_EQ(events[0].event, "update");
    EXPECT_EQ(events[0].data, "{\"a\":\n1}");
    EXPECT_EQ(events[0].id, "7");
    EXPECT_EQ(events[1].data, "[DONE]");
  }
}

TEST(SseParser, FinishDispatchesAnUnterminatedEvent) {
  const auto events = parse_split("data: last", 4);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "last");
}

TEST(SseParser, BareCarriageReturnsEndLines) {
  const auto events = parse_split("data: x\r\rdata: y\r\r", 8);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data, "y");
}

TEST(SseParser, AnEventOverTheLimitThrowsInsteadOfGrowing) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& e) { events.push_back(e); }, 16);
  parser.feed("data: 0123456789\n\n");  // 16 bytes of line: at the limit
  ASSERT_EQ(events.size(), 1u);
  // One endless line, and an event of many short data lines, both pass the limit.
  try {
    parser.feed("data: 0123456789A");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::payload_too_large);
    EXPECT_STREQ(e.what(), "an SSE event is larger than the limit of 16 bytes");
  }
  SseParser lines([&](const SseEvent& e) { events.push_back(e); }, 16);
  lines.feed("data: 12345\ndata: 12345\n");  // the event holds 11 bytes, the line 11: 16 at most
  EXPECT_THROW(lines.feed("data: 12345\n"), Error);
  EXPECT_EQ(events.size(), 1u);
}

}  // namespace
}  // namespace polaris::http
