// mcp/stdio_env.cpp - the allow-listed environment of a stdio MCP server.
#include "mcp/stdio_env.hpp"

#include <array>
#include <cstdlib>
#include <map>

#include "polaris/error.hpp"

extern char** environ;  // NOLINT: POSIX

namespace polaris::mcp::detail {
namespace {

// What a program launched from a shell expects (locale, home, temporary files, terminal), and
// what npm/npx and uv/uvx read to find their caches, registries and proxies. Nothing here is a
// credential of polaris or of a cloud/LLM provider; a server that needs one is given it by name.
constexpr std::array<std::string_view, 32> kNames = {
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "COLORTERM",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TMP",
    "TEMP",
    "PWD",
    "HOSTNAME",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "NVM_DIR",
    "UV_CACHE_DIR",
    "UV_PYTHON_INSTALL_DIR",
};
// Families: the locale (LC_ALL, LC_CTYPE, ...) and npm's configuration (npm_config_cache,
// npm_config_registry, ...; npm reads it case-insensitively).
constexpr std::array<std::string_view, 3> kPrefixes = {"LC_", "npm_config_", "NPM_CONFIG_"};

std::string_view name_of(std::string_view entry) { return entry.substr(0, entry.find('=')); }

}  // namespace

bool inherited_by_stdio_servers(std::string_view name) noexcept {
  for (const auto allowed : kNames) {
    if (name == allowed) return true;
  }
  for (const auto prefix : kPrefixes) {
    if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

std::vector<std::string> stdio_server_environment(const std::vector<std::string>& env) {
  std::vector<std::string> order;  // names, first appearance first
  std::map<std::string, std::string, std::less<>> values;
  const auto set = [&](std::string_view name, std::string entry) {
    auto [it, inserted] = values.insert_or_assign(std::string(name), std::move(entry));
    if (inserted) order.push_back(it->first);
  };
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (inherited_by_stdio_servers(name_of(text))) set(name_of(text), std::string(text));
  }
  for (const auto& entry : env) {
    const std::string_view name = name_of(entry);
    if (name.empty()) {
      throw Error(Errc::invalid_argument,
                  "mcp: the environment entry \"" + entry + "\" has no name (NAME=value or NAME)");
    }
    if (name.size() < entry.size()) {
      set(name, entry);
    } else if (const char* ours = std::getenv(entry.c_str())) {  // NOLINT(concurrency-mt-unsafe)
      set(name, entry + "=" + ours);
    }
  }
  std::vector<std::string> out;
  out.reserve(order.size());
  for (const auto& name : order) out.push_back(values[name]);
  return out;
}

}  // namespace polaris::mcp::detail
