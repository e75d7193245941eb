#include "transport/nats_options.hpp"

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/names.hpp"
#include "protocol/wire.hpp"
#include "transport/nats_error.hpp"

namespace polaris::detail {
namespace {

std::string host_name() {
  std::array<char, 256> buffer{};
  if (::gethostname(buffer.data(), buffer.size() - 1) != 0) return "polaris";
  return buffer.data();
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

void apply_tls(natsOptions* o, const TlsOptions& tls) {
  check_nats(natsOptions_SetSecure(o, true), "cannot enable TLS");
  if (!tls.ca_file.empty()) {
    check_nats(natsOptions_LoadCATrustedCertificates(o, tls.ca_file.c_str()),
               "cannot load the CA file " + tls.ca_file);
  }
  if (!tls.cert_file.empty()) {
    check_nats(natsOptions_LoadCertificatesChain(o, tls.cert_file.c_str(), tls.key_file.c_str()),
               "cannot load the client certificate " + tls.cert_file);
  }
  if (!tls.expected_hostname.empty()) {
    check_nats(natsOptions_SetExpectedHostname(o, tls.expected_hostname.c_str()),
               "invalid expected host name");
  }
  if (tls.skip_verify) {
    check_nats(natsOptions_SkipServerVerification(o, true), "cannot skip TLS verification");
  }
}

void apply_handlers(natsOptions* o, const NatsEventHandlers& handlers) {
  if (handlers.disconnected != nullptr) {
    check_nats(natsOptions_SetDisconnectedCB(o, handlers.disconnected, handlers.closure),
               "cannot set the disconnect handler");
  }
  if (handlers.reconnected != nullptr) {
    check_nats(natsOptions_SetReconnectedCB(o, handlers.reconnected, handlers.closure),
               "cannot set the reconnect handler");
  }
  if (handlers.closed != nullptr) {
    check_nats(natsOptions_SetClosedCB(o, handlers.closed, handlers.closure),
               "cannot set the close handler");
  }
  if (handlers.error != nullptr) {
    check_nats(natsOptions_SetErrorHandler(o, handlers.error, handlers.closure),
               "cannot set the error handler");
  }
}

}  // namespace

std::string inbox_prefix_of(const ConnectOptions& options) {
  if (!options.inbox_prefix.empty()) return options.inbox_prefix;
  // Per-user inboxes, so that a registry with roles can let only this user read its replies
  // (when the user name is one subject token: no dots, wildcards or white space).
  if (names::is_name_token(options.user)) return "_INBOX." + options.user;
  return "_INBOX";
}

std::string agent_namespace_of(const ConnectOptions& options) {
  return names::is_name_token(options.user) ? options.user : std::string();
}

std::vector<std::string> default_servers() {
  std::vector<std::string> servers;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): only setenv races with it, and programs do not.
  if (const char* env = std::getenv("POLARIS_SERVERS"); env != nullptr) {
    std::istringstream list(env);
    for (std::string url; std::getline(list, url, ',');) {
      const auto first = url.find_first_not_of(" \t");
      const auto last = url.find_last_not_of(" \t");
      if (first != std::string::npos) servers.push_back(url.substr(first, last - first + 1));
    }
  }
  if (servers.empty()) servers.emplace_back("nats://127.0.0.1:4222");
  return servers;
}

NatsOptionsPtr make_nats_options(const ConnectOptions& options, const NatsEventHandlers& handlers,
                                 std::string_view agent_id) {
  natsOptions* raw = nullptr;
  check_nats(natsOptions_Create(&raw), "cannot create NATS options");
  NatsOptionsPtr nats_options(raw);
  natsOptions* o = nats_options.get();

  const std::vector<std::string> servers =
      options.servers.empty() ? default_servers() : options.servers;
  std::vector<const char*> urls;
  urls.reserve(servers.size());
  for (const auto& url : servers) urls.push_back(url.c_str());
  check_nats(natsOptions_SetServers(o, urls.data(), static_cast<int>(urls.size())),
             "invalid server list");
  std::string name = options.name.empty() ? host_name() : options.name;
  if (!agent_id.empty()) name = wire::agent_connection_name(name, agent_id);
  check_nats(natsOptions_SetName(o, name.c_str()), "invalid connection name");
  if (!options.user.empty() || !options.password.empty()) {
    check_nats(natsOptions_SetUserInfo(o, options.user.c_str(), options.password.c_str()),
               "invalid user/password");
  }
  if (const std::string inbox = inbox_prefix_of(options); inbox != "_INBOX") {
    check_nats(natsOptions_SetCustomInboxPrefix(o, inbox.c_str()), "invalid inbox prefix " + inbox);
  }
  if (!options.token.empty()) {
    check_nats(natsOptions_SetToken(o, options.token.c_str()), "invalid token");
  }
  if (options.tls) apply_tls(o, *options.tls);
  check_nats(natsOptions_SetTimeout(o, options.connect_timeout.count()), "invalid connect timeout");
  check_nats(natsOptions_SetAllowReconnect(o, options.reconnect), "invalid reconnect option");
  check_nats(natsOptions_SetMaxReconnect(o, options.max_reconnects), "invalid max reconnects");
  check_nats(natsOptions_SetReconnectWait(o, options.reconnect_wait.count()),
             "invalid reconnect wait");
  check_nats(natsOptions_SetNoRandomize(o, !options.randomize), "invalid randomize option");
  check_nats(natsOptions_SetNoEcho(o, options.no_echo), "invalid echo option");
  // Latency: write each message to the socket at once instead of batching in the flusher.
  check_nats(natsOptions_SetSendAsap(o, true), "cannot enable send-asap");
  if (options.delivery_pool_threads < 0) {
    throw Error(Errc::invalid_argument, "delivery_pool_threads must not be negative");
  }
  if (options.delivery_pool_threads > 0) {
    // nats.c only ever grows its pool, so connections asking for fewer threads share more.
    check_nats(nats_SetMessageDeliveryPoolSize(options.delivery_pool_threads),
               "cannot size the message delivery pool");
    check_nats(natsOptions_UseGlobalMessageDelivery(o, true),
               "cannot use the shared message delivery pool");
  }
  apply_handlers(o, handlers);
  return nats_options;
}

NatsConnectionPtr connect_nats(natsOptions* options, const std::vector<std::string>& servers) {
  natsConnection* raw = nullptr;
  const natsStatus status = natsConnection_Connect(&raw, options);
  if (status != NATS_OK) {
    const std::string tried = join(servers.empty() ? default_servers() : servers);
    try {
      throw_nats_error(status, "cannot connect to " + tried);
    } catch (const Error& error) {
      // Whatever nats.c says (no server, refused auth, TLS), it is a connection failure; the
      // message keeps the cause.
      throw Error(Errc::connection_failed, error.what());
    }
  }
  return NatsConnectionPtr(raw);
}

}  // namespace polaris::detail
