#include "polaris/registry.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/log.hpp"
#include "common/shutdown_signal.hpp"
#include "polaris/connection.hpp"
#include "polaris/error.hpp"
#include "protocol/wire.hpp"
#include "registry/catalogue.hpp"
#include "registry/nats_server.hpp"
#include "security/registry_security.hpp"
#include "transport/nats_error.hpp"
#include "transport/nats_options.hpp"
#include "transport/subscription.hpp"

namespace polaris {
namespace {

std::chrono::milliseconds sweep_interval_of(const RegistryOptions& options) {
  if (options.sweep_interval > std::chrono::milliseconds::zero()) return options.sweep_interval;
  return std::clamp(options.keepalive_deadline / 10, std::chrono::milliseconds(10),
                    std::chrono::milliseconds(std::chrono::minutes(1)));
}

void validate(const RegistryOptions& options) {
  auto port_ok = [](int port) { return port >= 0 && port <= 65535; };
  if (!port_ok(options.bind.port)) {
    throw Error(Errc::invalid_argument, "bind port must be 0-65535");
  }
  if (!port_ok(options.cluster.port)) {
    throw Error(Errc::invalid_argument, "cluster port must be 0-65535");
  }
  if (options.max_payload <= 0) throw Error(Errc::invalid_argument, "max_payload must be positive");
  if (options.keepalive_deadline <= std::chrono::milliseconds::zero()) {
    throw Error(Errc::invalid_argument, "keepalive_deadline must be positive");
  }
  if (!options.routes.empty() && options.cluster.name.empty() && options.nats_urls.empty()) {
    throw Error(Errc::invalid_argument, "routes need a cluster name");
  }
}

std::string_view body_of(natsMsg* msg) {
  const char* data = natsMsg_GetData(msg);
  return {data != nullptr ? data : "", static_cast<std::size_t>(natsMsg_GetDataLength(msg))};
}

}  // namespace

/// Thread safety: subject handlers run on nats.c delivery threads (one per subject); the sweeper
/// on its own thread; the catalogue is internally locked.
class Registry::Impl {
 public:
  explicit Impl(RegistryOptions options)
      : options_(std::move(options)),
        log_(detail::logger_or_default(options_.logger)),
        catalogue_(options_.allow_overwrite, options_.keepalive_deadline) {
    validate(options_);
    // [security hook 1/6] auth and TLS of the launched nats-server and of our own connection.
    if (options_.security) {
      security_ = std::make_unique<detail::RegistrySecurity>(*options_.security, log_);
    }
    std::vector<std::string> servers = options_.nats_urls;
    if (servers.empty()) {
      server_ = std::make_unique<detail::NatsServer>(
          options_, log_, security_ ? security_->nats_config() : detail::NatsConfigExtras{});
      servers = {server_->client_url()};
    }
    ConnectOptions connect_options{.servers = servers, .name = "polaris-registry"};
    connect_options.randomize = false;
    if (security_) security_->apply_to(connect_options, !server_, options_.bind.host);
    auto nats_options = detail::make_nats_options(connect_options, {});
    connection_ = detail::connect_nats(nats_options.get(), servers);
    subscribe(wire::kRegisterSubject, [this](natsMsg* msg) { on_register(msg); });
    subscribe(wire::kUnregisterSubject, [this](natsMsg* msg) { on_unregister(msg); });
    subscribe(wire::kKeepaliveSubject, [this](natsMsg* msg) { on_keepalive(msg); });
    subscribe(wire::kListSubject, [this](natsMsg* msg) { on_list(msg); });
    detail::check_nats(natsConnection_FlushTimeout(connection_.get(), 5000),
                       "cannot confirm the registry subscriptions");
    sweeper_ = std::thread([this] { run_sweeper(); });
    log_->info("registry serving on {}{}", client_url(),
               cluster_url().empty() ? "" : " (cluster " + cluster_url() + ")");
  }

  ~Impl() { close(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::string client_url() const {
    return server_ ? server_->client_url() : options_.nats_urls.front();
  }
  std::string cluster_url() const { return server_ ? server_->cluster_url() : std::string(); }
  std::size_t tool_count() const { return catalogue_.size(); }

  void run_until_shutdown() {
    // [security hook 5/6] SIGHUP re-reads the security config file (only when there is one,
    // so that SIGHUP keeps its default action otherwise).
    const bool reloadable = security_ && !options_.security->source_file.empty();
    const std::array<int, 2> fds{server_ ? server_->process().exit_fd() : -1,
                                 reloadable ? detail::hangup_fd() : -1};
    for (;;) {
      std::size_t ready = 0;
      const int signal = detail::wait_for_signal_or(fds, ready);
      if (signal == 0 && ready == 1) {
        if (detail::take_hangup()) reload_after_hangup();
        continue;
      }
      if (signal == 0) {
        throw Error(Errc::process, "the registry's " + server_->process().describe_exit());
      }
      log_->info("received signal {}; stopping", signal);
      return;
    }
  }

  // [security hook 6/6]
  void reload_security() {
    if (!security_) {
      throw Error(Errc::invalid_argument, "the registry runs without a security configuration");
    }
    security_->reload([this](const detail::NatsConfigExtras& extras) {
      if (server_) server_->reload(extras);
    });
  }

  void reload_after_hangup() {
    log_->info("SIGHUP: reloading the security configuration");
    try {
      reload_security();
    } catch (const Error& error) {
      log_->error("reload refused, the previous configuration stays: {}", error.what());
    }
  }

  void close() {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
    }
    stop_cv_.notify_all();
    if (sweeper_.joinable()) sweeper_.join();
    subscriptions_.clear();  // each waits until its callback can no longer run
    if (connection_) natsConnection_Close(connection_.get());
    connection_.reset();
    if (server_) server_->stop();
    server_.reset();
    log_->info("registry stopped");
  }

 private:
  void subscribe(std::string_view subject, std::function<void(natsMsg*)> handler) {
    subscriptions_.emplace_back(
        connection_.get(), std::string(subject), "",
        [handler = std::move(handler)](detail::NatsMsgPtr msg) { handler(msg.get()); });
  }

  void respond(natsMsg* msg, const std::string& body) {
    const char* reply = natsMsg_GetReply(msg);
    if (reply == nullptr || *reply == '\0') return;
    const natsStatus status = natsConnection_Publish(connection_.get(), reply, body.data(),
                                                     static_cast<int>(body.size()));
    if (status != NATS_OK) {
      log_->error("cannot reply on {}: {}", natsMsg_GetSubject(msg), natsStatus_GetText(status));
    }
  }

  void respond_status(natsMsg* msg, const detail::Catalogue::Outcome& outcome) {
    respond(msg, wire::status_reply(outcome.success, outcome.message).dump());
  }

  // Parses a request body; answers with a clear failure when it is not JSON.
  std::optional<Json> parse(natsMsg* msg, std::string_view operation) {
    Json json = Json::parse(body_of(msg), nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
      log_->warn("{}: refused a request that is not JSON", operation);
      respond(msg, wire::status_reply(false, std::string(operation) +
                                                 ": invalid request: the body is not valid JSON")
                       .dump());
      return std::nullopt;
    }
    return json;
  }

  void on_register(natsMsg* msg) {
    auto json = parse(msg, "register");
    if (!json) return;
    // [security hook 2/6] roles: may the requester register this tool?
    if (auto refusal = security_
                           ? security_->refuse_register(natsMsg_GetReply(msg), *json, "register")
                           : std::nullopt) {
      respond(msg, wire::status_reply(false, *refusal).dump());
      return;
    }
    const auto outcome = catalogue_.add(*json, detail::Catalogue::Clock::now());
    if (outcome.success) {
      log_->info("registered {}", (*json)["name"].get<std::string>());
    } else {
      log_->info("{}", outcome.message);
    }
    respond_status(msg, outcome);
  }

  void on_unregister(natsMsg* msg) {
    auto json = parse(msg, "unregister");
    if (!json) return;
    // [security hook 2/6] roles: only who may register a tool may unregister it.
    if (auto refusal = security_
                           ? security_->refuse_register(natsMsg_GetReply(msg), *json, "unregister")
                           : std::nullopt) {
      respond(msg, wire::status_reply(false, *refusal).dump());
      return;
    }
    const auto outcome = catalogue_.remove(*json);
    if (outcome.success) log_->info("unregistered {}", (*json)["name"].get<std::string>());
    respond_status(msg, outcome);
  }

  void on_keepalive(natsMsg* msg) {
    auto json = parse(msg, "keepalive");
    if (!json) return;
    // [security hook 3/6] roles: keep alive only the tools the requester may register.
    std::vector<std::string> refusals;
    if (security_) refusals = security_->filter_keepalive(natsMsg_GetReply(msg), *json);
    auto outcome = catalogue_.keepalive(*json, detail::Catalogue::Clock::now());
    for (const auto& refusal : refusals) {
      outcome.message = outcome.success ? refusal : outcome.message + "; " + refusal;
      outcome.success = false;
    }
    respond_status(msg, outcome);
  }

  void on_list(natsMsg* msg) {
    Json tools = catalogue_.list();
    // [security hook 4/6] per-caller allow-lists: show the requester only its tools.
    if (security_) tools = security_->filter_list(natsMsg_GetReply(msg), std::move(tools));
    const std::string body = tools.dump();
    if (static_cast<std::int64_t>(body.size()) > natsConnection_GetMaxPayload(connection_.get())) {
      const std::string message =
          "list: the catalogue (" + std::to_string(body.size()) + " bytes) exceeds the max payload";
      log_->error("{}", message);
      respond(msg, wire::status_reply(false, message).dump());
      return;
    }
    respond(msg, body);
  }

  void run_sweeper() {
    const auto interval = sweep_interval_of(options_);
    std::unique_lock lock(mutex_);
    while (!stop_cv_.wait_for(lock, interval, [this] { return closed_; })) {
      for (const auto& name : catalogue_.sweep(detail::Catalogue::Clock::now())) {
        log_->info("removed {}: no keepalive before its deadline", name);
      }
    }
  }

  RegistryOptions options_;
  Logger log_;
  detail::Catalogue catalogue_;
  std::unique_ptr<detail::RegistrySecurity> security_;  // null: no security configuration
  std::unique_ptr<detail::NatsServer> server_;
  detail::NatsConnectionPtr connection_;
  std::vector<detail::Subscription> subscriptions_;
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool closed_ = false;
  std::thread sweeper_;
};

Registry Registry::start(RegistryOptions options) {
  return Registry(std::make_unique<Impl>(std::move(options)));
}

Registry::Registry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Registry::~Registry() = default;
Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;

std::string Registry::client_url() const { return impl_->client_url(); }
std::string Registry::cluster_url() const { return impl_->cluster_url(); }
std::size_t Registry::tool_count() const { return impl_->tool_count(); }
void Registry::run_until_shutdown() { impl_->run_until_shutdown(); }
void Registry::reload_security() { impl_->reload_security(); }
void Registry::close() { impl_->close(); }

}  // namespace polaris
