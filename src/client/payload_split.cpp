#include "client/payload_split.hpp"

namespace polaris::detail {

SplitBodies split_bodies(const std::vector<std::string>& items, std::string_view open,
                         std::string_view close, std::size_t limit) {
  SplitBodies result;
  const std::size_t frame = open.size() + close.size();
  std::string body;
  std::vector<std::size_t> members;
  auto flush = [&] {
    if (members.empty()) return;
    body.append(close);
    result.bodies.push_back(std::move(body));
    result.members.push_back(std::move(members));
    body.clear();
    members.clear();
  };
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    if (frame + item.size() > limit) {
      result.too_large.push_back(i);
      continue;
    }
    // +1 for the comma before every item but the first of a body.
    if (!members.empty() && body.size() + 1 + item.size() + close.size() > limit) flush();
    if (members.empty()) {
      body.assign(open);
    } else {
      body.push_back(',');
    }
    body.append(item);
    members.push_back(i);
  }
  flush();
  return result;
}

}  // namespace polaris::detail
