// The SSE parser, fed in every possible split.
#include "http/sse.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace polaris::http
