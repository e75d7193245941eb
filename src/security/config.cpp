// The YAML security configuration (docs/SECURITY.md) and its rules.
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "polaris/error.hpp"
#include "polaris/security.hpp"
#include "protocol/names.hpp"

namespace polaris {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& message) { throw Error(Errc::invalid_argument, message); }

bool is_bcrypt(const std::string& hash) {
  return hash.size() == 60 &&
         (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"));
}

// A tool name that can be part of an exact subject: no white space, no wildcard.
bool is_subject_part(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '*' || c == '>') return false;
  }
  return true;
}

// Reads one YAML mapping, refusing keys it does not know: a misspelt security setting must not
// silently fall back to "open".
class Section {
 public:
  Section(const YAML::Node& node, std::string where, std::set<std::string> keys)
      : node_(node), where_(std::move(where)) {
    if (!node_.IsMap()) fail(where_ + " must be a mapping");
    for (const auto& entry : node_) {
      const auto key = entry.first.as<std::string>();
      if (!keys.contains(key)) fail(where_ + ": unknown key '" + key + "'");
    }
  }

  [[nodiscard]] bool has(const char* key) const { return node_[key].IsDefined(); }
  [[nodiscard]] YAML::Node node(const char* key) const { return node_[key]; }
  [[nodiscard]] std::string path_of(const char* key) const { return where_ + "." + key; }

  [[nodiscard]] std::string text(const char* key) const {
    const YAML::Node value = node_[key];
    if (!value.IsDefined() || value.IsNull()) return {};
    if (!value.IsScalar()) fail(path_of(key) + " must be a string");
    return value.as<std::string>();
  }

  [[nodiscard]] bool flag(const char* key, bool fallback) const {
    const YAML::Node value = node_[key];
    if (!value.IsDefined() || value.IsNull()) return fallback;
    try {
      return value.as<bool>();
    } catch (const YAML::Exception&) {
      fail(path_of(key) + " must be true or false");
    }
  }

  [[nodiscard]] std::vector<std::string> list(const char* key) const {
    const YAML::Node value = node_[key];
    if (!value.IsDefined() || value.IsNull()) return {};
    if (!value.IsSequence()) fail(path_of(key) + " must be a list");
    std::vector<std::string> items;
    for (const auto& item : value) {
      if (!item.IsScalar()) fail(path_of(key) + " must be a list of strings");
      items.push_back(item.as<std::string>());
    }
    return items;
  }

  // A secret given as `<key>_env: NAME` (environment) or `<key>_file: PATH` (file contents
  // without the final line break); never as a literal, so it stays out of the file.
  [[nodiscard]] std::string secret(const std::string& key, const fs::path& base) const {
    const std::string env_key = key + "_env";
    const std::string file_key = key + "_file";
    if (has(env_key.c_str())) {
      const std::string name = text(env_key.c_str());
      // NOLINTNEXTLINE(concurrency-mt-unsafe): read-only use of the environment
      const char* value = std::getenv(name.c_str());
      if (value == nullptr || *value == '\0') {
        fail(path_of(env_key.c_str()) + ": the environment variable " + name + " is not set");
      }
      return value;
    }
    if (has(file_key.c_str())) {
      const fs::path path = base / text(file_key.c_str());
      std::ifstream file(path);
      if (!file) fail(path_of(file_key.c_str()) + ": cannot read " + path.string());
      std::stringstream content;
      content << file.rdbuf();
      std::string value = content.str();
      while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
      if (value.empty()) fail(path_of(file_key.c_str()) + ": " + path.string() + " is empty");
      return value;
    }
    return {};
  }

  [[nodiscard]] const std::string& where() const { return where_; }

 private:
  YAML::Node node_;
  std::string where_;
};

std::string file_path(const Section& section, const char* key, const fs::path& base) {
  const std::string value = section.text(key);
  if (value.empty()) return {};
  return (base / value).lexically_normal().string();
}

std::chrono::seconds parse_window(const std::string& text, const std::string& where) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    fail(where + ": '" + text + "' is not a duration (e.g. 90s, 30m, 2h)");
  }
  const std::string unit = text.substr(used);
  long long factor = 0;
  if (unit.empty() || unit == "s") factor = 1;
  if (unit == "m") factor = 60;
  if (unit == "h") factor = 3600;
  if (factor == 0 || value <= 0) fail(where + ": '" + text + "' is not a positive duration");
  return std::chrono::seconds(value * factor);
}

Role parse_role(const std::string& text, const std::string& where) {
  if (text == "agent") return Role::agent;
  if (text == "caller") return Role::caller;
  if (text == "admin") return Role::admin;
  fail(where + ": the role must be agent, caller or admin, not '" + text + "'");
}

ServerTlsConfig parse_server_tls(const Section& tls, const fs::path& base) {
  return ServerTlsConfig{.cert_file = file_path(tls, "cert_file", base),
                         .key_file = file_path(tls, "key_file", base),
                         .ca_file = file_path(tls, "ca_file", base),
                         .verify_clients = tls.flag("verify_clients", false)};
}

void parse_auth(const Section& auth, const fs::path& base, SecurityConfig& config) {
  config.token = auth.secret("token", base);
  config.reference_compat = auth.flag("reference_compat", false);
  if (auth.has("response_window")) {
    config.response_window =
        parse_window(auth.text("response_window"), auth.path_of("response_window"));
  }
  const YAML::Node users = auth.node("users");
  if (!users.IsDefined() || users.IsNull()) return;
  if (!users.IsSequence()) fail(auth.path_of("users") + " must be a list");
  std::size_t index = 0;
  for (const auto& node : users) {
    const Section user(
        node, auth.path_of("users") + "[" + std::to_string(index++) + "]",
        {"name", "password_hash", "password_env", "password_file", "role", "tools", "calls"});
    UserConfig entry{.name = user.text("name"), .password_hash = user.text("password_hash")};
    const std::string where = user.where() + " (" + entry.name + ")";
    if (entry.password_hash.empty()) {
      const std::string password = user.secret("password", base);
      if (!password.empty()) entry.password_hash = hash_password(password);
    }
    if (user.has("role")) {
      if (config.reference_compat) fail(where + ": reference_compat is on, so roles cannot apply");
      entry.role = parse_role(user.text("role"), where);
    } else if (!config.reference_compat) {
      fail(where + ": a role is required (agent, caller or admin)");
    }
    if (user.has("tools") && config.reference_compat) {
      fail(where + ": reference_compat is on, so tool lists cannot apply");
    }
    entry.tools = user.list("tools");
    entry.calls = user.list("calls");
    config.users.push_back(std::move(entry));
  }
}

void parse_attach(const Section& attach, const fs::path& base, SecurityConfig& config) {
  config.attach.user = attach.text("user");
  config.attach.password = attach.secret("password", base);
  config.attach.token = attach.secret("token", base);
  if (attach.has("tls")) {
    const Section tls(attach.node("tls"), attach.path_of("tls"),
                      {"ca_file", "cert_file", "key_file", "hostname"});
    config.attach.tls = TlsOptions{.ca_file = file_path(tls, "ca_file", base),
                                   .cert_file = file_path(tls, "cert_file", base),
                                   .key_file = file_path(tls, "key_file", base),
                                   .expected_hostname = tls.text("hostname")};
  }
}

void check_file(const std::string& path, const std::string& what) {
  if (path.empty()) fail(what + " is required");
  std::ifstream file(path);
  if (!file) fail(what + ": cannot read " + path);
}

void validate_tls(const ServerTlsConfig& tls, const std::string& where, bool needs_ca) {
  check_file(tls.cert_file, where + ".cert_file");
  check_file(tls.key_file, where + ".key_file");
  if (needs_ca || !tls.ca_file.empty()) check_file(tls.ca_file, where + ".ca_file");
}

}  // namespace

void validate_security_config(const SecurityConfig& config) {
  if (!config.token.empty() && !config.users.empty()) {
    fail("auth: a token and users exclude each other (nats-server accepts one or the other)");
  }
  std::set<std::string> names;
  for (const auto& user : config.users) {
    const std::string where = "user '" + user.name + "'";
    if (!names::is_name_token(user.name)) {
      fail("auth.users: the name '" + user.name + "' must be letters, digits, '_' or '-'");
    }
    if (user.name.starts_with("_polaris")) fail(where + ": names starting with _polaris are ours");
    if (!names.insert(user.name).second) fail(where + " appears twice");
    if (!is_bcrypt(user.password_hash)) {
      fail(where + ": needs password_hash (a bcrypt hash from `polaris passwd`) or password_env");
    }
    const bool any = user.tools.size() == 1 && user.tools.front() == "*";
    if (any && user.role == Role::agent) {
      // Serving any tool needs the subscribe permission "*" (the colon-named tool subjects are
      // single tokens), and nats-server 2.9 lets a subscription to ">" through it: the agent
      // would read every message of every user (docs/SECURITY.md, "Why exact subjects").
      fail(where +
           ": an agent's tools cannot be [\"*\"] (nats-server would then let it "
           "subscribe to \">\" and read every user's messages); list its tool names, "
           "or make it an admin");
    }
    for (const auto& tool : user.tools) {
      if (!any && !is_subject_part(tool)) {
        fail(where + ": '" + tool + "' cannot be a tool name (empty, white space or wildcard; " +
             "\"*\" alone means any tool)");
      }
    }
  }
  for (const auto& user : config.users) {
    if (user.calls.empty()) continue;
    const std::string where = "user '" + user.name + "'";
    if (user.role != Role::agent) {
      fail(where + ": only an agent has calls (a caller calls its tools; an admin any tool)");
    }
    for (const auto& tool : user.calls) {
      if (!is_subject_part(tool)) {
        fail(where + ": '" + tool + "' in calls cannot be a tool name (empty, white space or " +
             "wildcard; calls lists names)");
      }
    }
  }
  if (config.response_window <= std::chrono::seconds::zero()) {
    fail("auth.response_window must be positive");
  }
  if (config.tls) validate_tls(*config.tls, "tls", config.tls->verify_clients);
  if (config.cluster_tls) validate_tls(*config.cluster_tls, "cluster_tls", true);
}

SecurityConfig load_security_config(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    fail("cannot read the config file " + path);
  } catch (const YAML::Exception& error) {
    fail(path + ": " + error.what());
  }
  const fs::path base = fs::absolute(fs::path(path)).parent_path();
  SecurityConfig config;
  try {
    if (root.IsNull()) return config;
    const Section top(root, path, {"auth", "tls", "cluster_tls", "attach"});
    if (top.has("auth")) {
      parse_auth(
          Section(top.node("auth"), "auth",
                  {"token_env", "token_file", "users", "reference_compat", "response_window"}),
          base, config);
    }
    if (top.has("tls")) {
      const Section tls(top.node("tls"), "tls",
                        {"cert_file", "key_file", "ca_file", "verify_clients", "hostname"});
      config.tls = parse_server_tls(tls, base);
      config.tls_hostname = tls.text("hostname");
    }
    if (top.has("cluster_tls")) {
      config.cluster_tls = parse_server_tls(
          Section(top.node("cluster_tls"), "cluster_tls", {"cert_file", "key_file", "ca_file"}),
          base);
    }
    if (top.has("attach")) {
      parse_attach(
          Section(top.node("attach"), "attach",
                  {"user", "password_env", "password_file", "token_env", "token_file", "tls"}),
          base, config);
    }
    validate_security_config(config);
  } catch (const Error& error) {
    fail(path + ": " + error.what());
  } catch (const YAML::Exception& error) {
    fail(path + ": " + error.what());
  }
  config.source_file = fs::absolute(fs::path(path)).string();
  return config;
}

std::string inbox_prefix_for(std::string_view user) { return "_INBOX." + std::string(user); }

}  // namespace polaris
