// Internal: agent ids.
#pragma once

#include <string>

namespace polaris::detail {

/// A new random agent id: 22 characters [A-Za-z0-9] (about 131 bits).
std::string new_agent_id();

}  // namespace polaris::detail
