// polaris/version.hpp
#pragma once

#include <string_view>

namespace polaris {

/// The library version, e.g. "0.1.0".
std::string_view version() noexcept;

}  // namespace polaris
