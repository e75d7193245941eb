#include "polaris/registry.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <mutex>
#include <string_view>

#include "client/timer.hpp"
#include "common/log.hpp"
#include "common/shutdown_signal.hpp"
#include "polaris/connection.hpp"
#include "polaris/error.hpp"
#include "protocol/wire.hpp"
#include "registry/agent_disconnects.hpp"
#include "registry/catalogue.hpp"
#include "registry/claim_window.hpp"
#include "registry/list_handlers.hpp"
#include "registry/nats_server.hpp"
#include "registry/node_bus.hpp"
#include "registry/node_context.hpp"
#include "registry/node_id.hpp"
#include "registry/observer.hpp"
#include "registry/peer_sync.hpp"
#include "registry/registry_options.hpp"
#include "registry/replication.hpp"
#include "registry/request_handlers.hpp"
#include "registry/system_client.hpp"
#include "security/authorizer.hpp"
#include "transport/nats_options.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// How often a node tells the others it is alive (and whether it holds the catalogue yet).
constexpr auto kNodeHeartbeatInterval = 250ms;

}  // namespace

/// A registry node's lifecycle: its nats-server, connections and parts, started in order and
/// stopped in the reverse order. The parts: RequestHandlers and ListHandlers answer requests,
/// Replication keeps peers in step, ClaimWindow holds answers back, PeerSync synchronises
/// catalogues, NodeObserver reports status and metrics.
///
/// Thread safety: subject handlers run on nats.c delivery threads (one per subscription); node
/// heartbeats, sweeps and held-back answers on `timer_`'s thread; the catalogue is internally
/// locked; `mutex_` guards the rest.
class Registry::Impl {
 public:
  explicit Impl(RegistryOptions options)
      : options_(std::move(options)),
        log_(detail::logger_or_default(options_.logger)),
        catalogue_({.allow_overwrite = options_.allow_overwrite,
                    .keepalive_deadline = options_.keepalive_deadline,
                    .agent_timeout = options_.agent_timeout}) {
    detail::validate_registry_options(options_);
    authorizer_ = detail::make_authorizer(options_.security, log_);
    if (options_.server_name.empty()) options_.server_name = detail::make_node_id();
    node_id_ = options_.server_name;
    clustered_ = !options_.cluster.name.empty() || !options_.nats_urls.empty();
    connect();
    make_parts();
    subscribe_peers();
    schedule_heartbeat();
    schedule_sweep();
    // From here a failure (say, the metrics port is taken) must stop the timer, the
    // subscriptions and nats-server itself: the destructor does not run for a half-built object.
    try {
      serve();
    } catch (...) {
      close();
      throw;
    }
  }

  ~Impl() { close(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::string client_url() const {
    return server_ ? server_->client_url() : options_.nats_urls.front();
  }
  std::string cluster_url() const { return server_ ? server_->cluster_url() : std::string(); }
  std::size_t tool_count() const { return catalogue_.size(); }
  std::size_t agent_count() const { return catalogue_.agent_count(); }
  const std::string& node_id() const { return node_id_; }
  std::string metrics_url() const { return observer_ ? observer_->metrics_url() : std::string(); }
  std::string monitoring_url() const { return server_ ? server_->monitoring_url() : std::string(); }

  void run_until_shutdown() {
    // SIGHUP re-reads the security configuration file (only when there is one, so that SIGHUP
    // keeps its default action otherwise).
    const std::array<int, 2> fds{server_ ? server_->process().exit_fd() : -1,
                                 authorizer_->reloadable() ? detail::hangup_fd() : -1};
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

  void reload_security() {
    authorizer_->reload([this](const detail::NatsConfigExtras& extras) {
      if (server_) server_->reload(extras);
    });
  }

  void close() {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
    }
    timer_.stop();
    observer_.reset();
    disconnects_.reset();  // its timer may still withdraw an agent: before what that uses
    std::vector<detail::Subscription> lists;
    {
      std::lock_guard lock(mutex_);
      lists = std::move(list_subscriptions_);
    }
    lists.clear();
    if (bus_) bus_->unsubscribe_all();  // each waits until its handler can no longer run
    sync_.reset();
    if (bus_) bus_->close();
    system_.reset();
    if (server_) server_->stop();
    server_.reset();
    log_->info("registry stopped");
  }

 private:
  // nats-server (unless attaching), the node's connection, and the system account's.
  void connect() {
    std::vector<std::string> servers = options_.nats_urls;
    if (servers.empty()) {
      server_ = std::make_unique<detail::NatsServer>(options_, log_, authorizer_->nats_config(),
                                                     detail::system_account_for(options_));
      servers = {server_->client_url()};
    }
    ConnectOptions connect_options{.servers = servers, .name = "polaris-registry " + node_id_};
    connect_options.randomize = false;
    authorizer_->apply_to(connect_options, !server_, options_.bind.host);
    auto nats_options = detail::make_nats_options(connect_options, {});
    bus_ =
        std::make_unique<detail::NodeBus>(detail::connect_nats(nats_options.get(), servers), log_);
    // A second connection, as the system account's user: NATS accounts isolate subjects, so
    // the registry's own user cannot see the server's events.
    if (server_ && server_->system_account()) {
      ConnectOptions system_options = connect_options;
      system_options.name = "polaris-registry-system " + node_id_;
      system_options.token.clear();
      system_options.user = server_->system_account()->user;
      system_options.password = server_->system_account()->password;
      system_ = std::make_unique<detail::SystemClient>(system_options);
      if (options_.disconnect_grace > std::chrono::milliseconds::zero()) {
        disconnects_ = std::make_unique<detail::AgentDisconnects>(
            system_->get(), options_.disconnect_grace,
            [this](const std::string& agent, const std::string& reason) {
              on_agent_disconnected(agent, reason);
            },
            log_);
      }
    }
  }

  void make_parts() {
    const detail::NodeContext node{.options = options_,
                                   .node_id = node_id_,
                                   .clustered = clustered_,
                                   .log = log_,
                                   .catalogue = catalogue_,
                                   .stamps = stamps_,
                                   .bus = *bus_};
    sync_ = std::make_unique<detail::PeerSync>(bus_->get(), node_id_, catalogue_, stamps_, log_);
    window_ = std::make_unique<detail::ClaimWindow>(
        catalogue_, timer_,
        [this](const std::string& subject, const std::string& body) {
          bus_->publish(subject, body);
        },
        options_.replication_timeout, log_);
    replication_ = std::make_unique<detail::Replication>(node, *sync_, *window_);
    handlers_ =
        std::make_unique<detail::RequestHandlers>(node, *authorizer_, *replication_, *window_);
    lists_ = std::make_unique<detail::ListHandlers>(node, *authorizer_);
  }

  // What the node hears from its peers and agents before it holds the catalogue.
  void subscribe_peers() {
    using detail::Inbound;
    bus_->subscribe(wire::kSyncEventSubject, "",
                    [this](const Inbound& m) { replication_->on_event(m); });
    bus_->subscribe(wire::kNodeHeartbeatSubject, "",
                    [this](const Inbound& m) { sync_->on_node_heartbeat(m.body); });
    bus_->subscribe(wire::kAgentHeartbeatSubject, "",
                    [this](const Inbound& m) { handlers_->on_agent_heartbeat(m, {}); });
    subscribe_user(wire::kUserHeartbeatVerb, "", "heartbeat",
                   &detail::RequestHandlers::on_agent_heartbeat);
    bus_->subscribe(replication_->applied_prefix() + "*", "",
                    [this](const Inbound& m) { replication_->on_applied(m); });
  }

  // The same requests on the sender's own subjects (docs/SECURITY.md).
  void subscribe_user(std::string_view verb, const char* queue, const char* operation,
                      void (detail::RequestHandlers::*handler)(const detail::Inbound&,
                                                               std::string_view)) {
    bus_->subscribe(wire::user_subject("*", verb), queue,
                    [this, operation, handler](const detail::Inbound& m) {
                      if (auto user = handlers_->user_request(m, operation)) {
                        (handlers_.get()->*handler)(m, *user);
                      }
                    });
  }

  void schedule_heartbeat() {
    const auto now = Clock::now();
    sync_->publish_node_heartbeat();
    timer_.schedule(now + kNodeHeartbeatInterval, [this] { schedule_heartbeat(); });
  }

  void schedule_sweep() {
    const auto now = Clock::now();
    timer_.schedule(now + detail::sweep_interval_of(options_), [this] {
      replication_->sweep(Clock::now());
      schedule_sweep();
    });
  }

  // The second half of start-up: catalogue in hand, take requests, observe.
  void serve() {
    const auto start =
        clustered_ ? sync_->synchronise(options_.sync_timeout) : detail::PeerSync::Start::alone;
    sync_->mark_synced([this](const Json& event) { replication_->apply_event(event); });
    // Subscribed only after our own introduction, so that a lone node hears no-responders at
    // once instead of waiting for answers that cannot come.
    if (clustered_) sync_->introduce();
    bus_->subscribe(wire::kNodeHelloSubject, "",
                    [this](const detail::Inbound& m) { sync_->on_hello(m.body, m.reply); });
    // A node given routes expects peers: one that met none may be cut off from nodes that hold
    // the catalogue, so it answers no list before it has merged a peer's (another node answers).
    // (In attach mode the routes are not ours to know: a lone registry there serves alone.)
    const bool expects_peers = !options_.routes.empty() && options_.nats_urls.empty();
    const bool answer_lists = start != detail::PeerSync::Start::alone || !expects_peers;
    if (!answer_lists) {
      log_->warn(
          "met no peer within {} ms: taking registrations, but answering no list until "
          "a peer's catalogue is merged",
          options_.sync_timeout.count());
      sync_->await_peer([this] {
        log_->info("merged a peer's catalogue: answering lists");
        open_lists();
      });
    }
    subscribe_requests();
    if (answer_lists) open_lists();
    observe();
    bus_->flush("cannot confirm the registry subscriptions");
    log_->info("registry node {} serving on {}{} with {} tools", node_id_, client_url(),
               cluster_url().empty() ? "" : " (cluster " + cluster_url() + ")", tool_count());
  }

  // Only with the catalogue in hand does this node take requests.
  void subscribe_requests() {
    using detail::Inbound;
    using detail::RequestHandlers;
    const char* queue = wire::kRegistryQueue;
    bus_->subscribe(wire::kSyncPullSubject, "", [this](const Inbound& m) { lists_->on_pull(m); });
    bus_->subscribe(wire::kRegisterSubject, queue,
                    [this](const Inbound& m) { handlers_->on_register(m); });
    bus_->subscribe(wire::kBatchRegisterSubject, queue,
                    [this](const Inbound& m) { handlers_->on_batch_register(m, {}); });
    bus_->subscribe(wire::kUnregisterSubject, queue,
                    [this](const Inbound& m) { handlers_->on_unregister(m, {}); });
    bus_->subscribe(wire::kKeepaliveSubject, queue,
                    [this](const Inbound& m) { handlers_->on_keepalive(m, {}); });
    subscribe_user(wire::kUserRegisterVerb, queue, "register", &RequestHandlers::on_batch_register);
    subscribe_user(wire::kUserUnregisterVerb, queue, "unregister", &RequestHandlers::on_unregister);
    subscribe_user(wire::kUserKeepaliveVerb, queue, "keepalive", &RequestHandlers::on_keepalive);
    bus_->subscribe(wire::kAgentLeaveSubject, queue,
                    [this](const Inbound& m) { handlers_->on_agent_leave(m, {}); });
    subscribe_user(wire::kUserLeaveVerb, queue, "leave", &RequestHandlers::on_agent_leave);
  }

  // The list and snapshot subjects: subscribed once the catalogue is known to be whole.
  void open_lists() {
    using detail::Inbound;
    std::lock_guard lock(mutex_);
    if (closed_ || !list_subscriptions_.empty()) return;
    const char* queue = wire::kRegistryQueue;
    // A starting node copies its catalogue from whichever node answers first: never from one
    // that may be cut off from the nodes holding it (its lists are closed until it merged).
    list_subscriptions_.push_back(bus_->subscription(
        wire::kSyncSnapshotSubject, queue, [this](const Inbound& m) { lists_->on_snapshot(m); }));
    list_subscriptions_.push_back(bus_->subscription(
        wire::kListSubject, queue, [this](const Inbound& m) { lists_->on_list(m); }));
    list_subscriptions_.push_back(bus_->subscription(
        wire::kPagedListSubject, queue, [this](const Inbound& m) { lists_->on_page(m); }));
  }

  // Status, peers and metrics.
  void observe() {
    auto peers = detail::peer_sources(server_.get(), system_.get());
    observer_ = std::make_unique<detail::NodeObserver>(
        bus_->get(), detail::node_facts(options_, server_.get()), options_.metrics,
        [this] {
          return detail::CatalogueCounts{.tools = catalogue_.size(),
                                         .agents = catalogue_.agent_count(),
                                         .merges = sync_->merges()};
        },
        [this]() -> std::string {
          std::lock_guard lock(mutex_);
          if (closed_) return "stopping";
          if (list_subscriptions_.empty()) {
            return "the catalogue may be incomplete: no peer met yet (answering no list)";
          }
          return {};
        },
        std::move(peers.reports), std::move(peers.no_reports), std::move(peers.names),
        system_ ? system_->get() : nullptr, log_);
  }

  void reload_after_hangup() {
    log_->info("SIGHUP: reloading the security configuration");
    try {
      reload_security();
    } catch (const Error& error) {
      log_->error("reload refused, the previous configuration stays: {}", error.what());
    }
  }

  // nats-server reported that the agent's connection closed and it did not come back.
  void on_agent_disconnected(const std::string& agent, const std::string& reason) {
    if (!catalogue_.depart(agent)) return;  // no tools here (a caller, or already gone)
    log_->info("agent {} disconnected ({}) and did not connect again within {} ms", agent, reason,
               options_.disconnect_grace.count());
    replication_->sweep(Clock::now());
  }

  RegistryOptions options_;
  Logger log_;
  detail::Catalogue catalogue_;
  detail::StampClock stamps_;
  std::string node_id_;
  bool clustered_ = false;
  std::unique_ptr<detail::Authorizer> authorizer_;  // never null: permissive without security
  std::unique_ptr<detail::NatsServer> server_;      // null: attached to existing servers
  std::unique_ptr<detail::NodeBus> bus_;
  std::unique_ptr<detail::SystemClient> system_;  // null: no system account
  std::unique_ptr<detail::AgentDisconnects> disconnects_;
  std::unique_ptr<detail::PeerSync> sync_;
  std::unique_ptr<detail::ClaimWindow> window_;
  std::unique_ptr<detail::Replication> replication_;
  std::unique_ptr<detail::RequestHandlers> handlers_;
  std::unique_ptr<detail::ListHandlers> lists_;
  std::unique_ptr<detail::NodeObserver> observer_;
  std::mutex mutex_;
  bool closed_ = false;                                   // guarded by mutex_
  std::vector<detail::Subscription> list_subscriptions_;  // guarded by mutex_
  detail::Timer timer_;  // last: stopped (its jobs use the parts) before anything is destroyed
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
std::size_t Registry::agent_count() const { return impl_->agent_count(); }
std::string Registry::node_id() const { return impl_->node_id(); }
std::string Registry::metrics_url() const { return impl_->metrics_url(); }
std::string Registry::monitoring_url() const { return impl_->monitoring_url(); }
void Registry::run_until_shutdown() { impl_->run_until_shutdown(); }
void Registry::reload_security() { impl_->reload_security(); }
void Registry::close() { impl_->close(); }

}  // namespace polaris
