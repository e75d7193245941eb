// agents/on_behalf_of.cpp - the options of a call made by a handler for the call it serves.
#include <algorithm>

#include "polaris/connection.hpp"
#include "polaris/error.hpp"

namespace polaris {

CallOptions on_behalf_of(const Request& request, CallOptions options) {
  if (const auto left = request.remaining()) {
    if (left->count() <= 0) {
      throw Error(Errc::timeout, "the deadline of the call being served has passed");
    }
    options.timeout = options.timeout ? std::min(*options.timeout, *left) : *left;
  }
  options.chain = request.chain();
  return options;
}

}  // namespace polaris
