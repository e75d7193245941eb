#include "security/authorizer.hpp"

#include "polaris/error.hpp"
#include "security/registry_security.hpp"

namespace polaris::detail {

void Authorizer::reload(const std::function<void(const NatsConfigExtras&)>& /*apply*/) {
  throw Error(Errc::invalid_argument, "the registry runs without a security configuration");
}

std::unique_ptr<Authorizer> make_authorizer(const std::optional<SecurityConfig>& config,
                                            const Logger& log) {
  if (!config) return std::make_unique<Authorizer>();
  return std::make_unique<RegistrySecurity>(*config, log);
}

}  // namespace polaris::detail
