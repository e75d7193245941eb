#include "security/registry_security.hpp"

#include <spdlog/spdlog.h>

#include "polaris/error.hpp"
#include "security/secrets.hpp"

namespace polaris::detail {
namespace {

std::shared_ptr<const AccessPolicy> policy_for(const SecurityConfig& config) {
  if (!config.roles()) return nullptr;
  return std::make_shared<const AccessPolicy>(config);
}

std::string_view reply_of(const char* reply) { return reply != nullptr ? reply : ""; }

std::string who(const std::optional<std::string>& user) {
  return user ? "user " + *user : "an unknown requester";
}

}  // namespace

RegistrySecurity::RegistrySecurity(SecurityConfig config, Logger log)
    : log_(std::move(log)), config_(std::move(config)) {
  validate_security_config(config_);
  // A fresh secret per process: nothing to store, nothing to leak from a previous run.
  internal_.password = random_secret(24);
  internal_.password_hash = bcrypt_hash(internal_.password, kSecretHashCost);
  policy_ = policy_for(config_);
}

NatsConfigExtras RegistrySecurity::nats_config() const {
  std::lock_guard lock(mutex_);
  return render_nats_security(config_, internal_);
}

void RegistrySecurity::apply_to(ConnectOptions& options, bool attach,
                                const std::string& bind_host) const {
  std::lock_guard lock(mutex_);
  if (attach) {
    options.user = config_.attach.user;
    options.password = config_.attach.password;
    options.token = config_.attach.token;
    options.tls = config_.attach.tls;
    return;
  }
  if (!config_.token.empty()) {
    options.token = config_.token;
  } else if (!config_.users.empty()) {
    options.user = internal_.name;
    options.password = internal_.password;
  }
  if (config_.tls) {
    TlsOptions tls{.ca_file = config_.tls->ca_file, .expected_hostname = config_.tls_hostname};
    if (tls.expected_hostname.empty()) {
      tls.expected_hostname = bind_host.empty() || bind_host == "0.0.0.0" || bind_host == "::"
                                  ? "127.0.0.1"
                                  : bind_host;
    }
    // With client certificates required, the registry presents the server's own certificate
    // (it must then allow client authentication, docs/SECURITY.md).
    if (config_.tls->verify_clients) {
      tls.cert_file = config_.tls->cert_file;
      tls.key_file = config_.tls->key_file;
    }
    options.tls = tls;
  }
}

namespace {

const char* auth_kind(const SecurityConfig& config) {
  if (!config.token.empty()) return "a token";
  if (!config.users.empty()) return "users";
  return "no authentication";
}

}  // namespace

void refuse_restart_only_changes(const SecurityConfig& running, const SecurityConfig& fresh) {
  // The registry's own connection to its nats-server authenticates and connects the way the
  // running configuration says; after such a reload nats-server would drop it and refuse it
  // back, leaving a registry that answers nothing.
  if (std::string_view(auth_kind(running)) != auth_kind(fresh)) {
    throw Error(Errc::invalid_argument, std::string("the configuration changes from ") +
                                            auth_kind(running) + " to " + auth_kind(fresh) +
                                            ", which needs a restart of the registry");
  }
  if (running.token != fresh.token) {
    throw Error(Errc::invalid_argument,
                "a new token needs a restart of the registry (nats-server would disconnect every "
                "client of the old one, the registry included)");
  }
  if (running.tls.has_value() != fresh.tls.has_value() ||
      running.cluster_tls.has_value() != fresh.cluster_tls.has_value()) {
    throw Error(Errc::invalid_argument,
                "turning TLS on or off needs a restart of the registry (certificates and keys "
                "may change on reload)");
  }
}

void RegistrySecurity::reload(const std::function<void(const NatsConfigExtras&)>& apply) {
  std::lock_guard reloading(reload_mutex_);
  std::string source;
  {
    std::lock_guard lock(mutex_);
    source = config_.source_file;
  }
  if (source.empty()) {
    throw Error(Errc::invalid_argument, "the security configuration was not read from a file");
  }
  SecurityConfig fresh = load_security_config(source);  // throws: the old one stays
  {
    std::lock_guard lock(mutex_);
    refuse_restart_only_changes(config_, fresh);
  }
  auto policy = policy_for(fresh);
  // internal_ never changes after construction; hashing (slow) stays outside the lock.
  const NatsConfigExtras extras = render_nats_security(fresh, internal_);
  {
    std::lock_guard lock(mutex_);
    config_ = std::move(fresh);
    policy_ = std::move(policy);
  }
  apply(extras);
  log_->info("reloaded the security configuration from {}", source);
}

std::shared_ptr<const AccessPolicy> RegistrySecurity::policy() const {
  std::lock_guard lock(mutex_);
  return policy_;
}

Json RegistrySecurity::filter_list(const char* reply, Json tools) const {
  const auto visible = list_filter(reply);
  if (!visible || !tools.is_array()) return tools;
  Json shown = Json::array();
  for (auto& declaration : tools) {
    const auto name = declaration.find("name");
    if (name != declaration.end() && name->is_string() &&
        visible(name->get_ref<const std::string&>())) {
      shown.push_back(std::move(declaration));
    }
  }
  return shown;
}

bool RegistrySecurity::reloadable() const {
  std::lock_guard lock(mutex_);
  return !config_.source_file.empty();
}

Authorizer::Visible RegistrySecurity::list_filter(const char* reply) const {
  auto policy = this->policy();
  if (!policy) return {};
  auto user = policy->user_of_reply(reply_of(reply));
  return [policy = std::move(policy), user = std::move(user)](const std::string& tool) {
    return policy->may_list(user, tool);
  };
}

namespace {

std::optional<std::string> user_of(const AccessPolicy& policy, const Requester& requester) {
  if (!requester.subject_user.empty()) return std::string(requester.subject_user);
  return policy.user_of_reply(reply_of(requester.reply));
}

}  // namespace

std::optional<std::string> RegistrySecurity::refuse_register(const Requester& requester,
                                                             const Json& declaration,
                                                             std::string_view operation) const {
  const auto policy = this->policy();
  if (!policy || !declaration.is_object()) return std::nullopt;
  const auto name = declaration.find("name");
  if (name == declaration.end() || !name->is_string()) return std::nullopt;
  const auto user = user_of(*policy, requester);
  const auto& tool = name->get_ref<const std::string&>();
  if (policy->may_register(user, tool)) return std::nullopt;
  std::string message = std::string(operation) + ": " + who(user) + " may not register " + tool;
  log_->warn("{}", message);
  return message;
}

std::optional<std::string> RegistrySecurity::refuse_leave(const Requester& requester,
                                                          std::string_view agent_id) const {
  const auto policy = this->policy();
  if (!policy) return std::nullopt;
  const auto user = user_of(*policy, requester);
  if (policy->may_act_for_agent(user, agent_id)) return std::nullopt;
  std::string message = "leave: " + who(user) + " may not speak for agent " + std::string(agent_id);
  log_->warn("{}", message);
  return message;
}

std::optional<std::string> RegistrySecurity::refuse_reply(std::string_view user, const char* reply,
                                                          std::string_view operation) const {
  if (!policy()) return std::nullopt;
  const std::string_view subject = reply_of(reply);
  const std::string inbox = inbox_prefix_for(user) + ".";
  if (subject.empty() || (subject.starts_with(inbox) && subject.size() > inbox.size())) {
    return std::nullopt;
  }
  std::string message = std::string(operation) + ": user " + std::string(user) +
                        " named the reply subject " + std::string(subject) +
                        ", which is not in its inbox " + inbox + "*";
  log_->warn("{}", message);
  return message;
}

std::vector<std::string> RegistrySecurity::filter_keepalive(const Requester& requester,
                                                            Json& declarations) const {
  std::vector<std::string> refusals;
  if (!policy() || !declarations.is_array()) return refusals;
  Json allowed = Json::array();
  for (auto& declaration : declarations) {
    if (auto refusal = refuse_register(requester, declaration, "keepalive")) {
      refusals.push_back(std::move(*refusal));
    } else {
      allowed.push_back(std::move(declaration));
    }
  }
  declarations = std::move(allowed);
  return refusals;
}

}  // namespace polaris::detail
