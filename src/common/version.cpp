#include "polaris/version.hpp"

namespace polaris {

std::string_view version() noexcept { return POLARIS_VERSION; }

}  // namespace polaris
