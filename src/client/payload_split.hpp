// Internal: splitting a list of JSON texts into requests that each fit the max payload.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace polaris::detail {

/// Joins `items` (JSON texts) with commas between `open` and `close` (e.g. "[" and "]") into as
/// few bodies as possible, none longer than `limit` bytes, keeping the order. An item too large
/// for any body is left out and its index returned in `too_large`.
struct SplitBodies {
  std::vector<std::string> bodies;
  std::vector<std::vector<std::size_t>> members;  ///< indices of the items in each body
  std::vector<std::size_t> too_large;
};
SplitBodies split_bodies(const std::vector<std::string>& items, std::string_view open,
                         std::string_view close, std::size_t limit);

}  // namespace polaris::detail
