// Server-Sent Events from HTTP servers we do not control: one parser for LLM streams (which end
// with finish()) and MCP streams (ids and retry for resumption, no finish()). Bytes arrive in
// arbitrary pieces, so the parser must give the same events however the stream is cut.
// Input: one byte that picks the cut points, then the stream.
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "http/sse.hpp"

namespace {

// The stream cut into pieces whose lengths follow from `seed` (1..16 bytes each).
std::vector<std::string_view> pieces(std::string_view stream, unsigned seed) {
  std::vector<std::string_view> out;
  unsigned state = seed * 2654435761U + 1;
  while (!stream.empty()) {
    state = state * 1103515245U + 12345U;
    const std::size_t length = std::min<std::size_t>(stream.size(), 1 + (state >> 16) % 16);
    out.push_back(stream.substr(0, length));
    stream.remove_prefix(length);
  }
  return out;
}

std::vector<std::string> http_events(const std::vector<std::string_view>& chunks) {
  std::vector<std::string> events;
  polaris::http::SseParser parser([&](const polaris::http::SseEvent& event) {
    events.push_back(event.event + '\x1f' + event.id + '\x1f' + event.data);
  });
  for (const auto chunk : chunks) parser.feed(chunk);
  parser.finish();
  return events;
}

std::vector<std::string> mcp_events(const std::vector<std::string_view>& chunks) {
  std::vector<std::string> events;
  polaris::http::SseParser reader(
      [&](const polaris::http::SseEvent& event) {
        events.push_back(event.event + '\x1f' + event.id + (event.has_id ? "+" : "-") + '\x1f' +
                         event.data);
      },
      [&](long milliseconds) {
        if (milliseconds < 0) polaris::fuzz::broken("negative SSE retry");
        events.push_back("retry " + std::to_string(milliseconds));
      });
  for (const auto chunk : chunks) reader.feed(chunk);
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view stream = polaris::fuzz::as_text(data + 1, size - 1);
  const auto cut = pieces(stream, data[0]);
  const std::vector<std::string_view> whole{stream};
  if (http_events(whole) != http_events(cut))
    polaris::fuzz::broken("SseParser depends on cuts (finish)");
  if (mcp_events(whole) != mcp_events(cut))
    polaris::fuzz::broken("SseParser depends on cuts (retry)");
  return 0;
}
