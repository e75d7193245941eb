#include "polaris/registry.hpp"
#include "common/untrusted_json.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

#include "client/payload_split.hpp"
#include "common/log.hpp"
#include "common/shutdown_signal.hpp"
#include "polaris/connection.hpp"
#include "polaris/error.hpp"
#include "protocol/wire.hpp"
#include "registry/agent_disconnects.hpp"
#include "registry/catalogue.hpp"
#include "registry/nats_server.hpp"
#include "registry/node_id.hpp"
#include "registry/observer.hpp"  // [observe]
#include "registry/peer_sync.hpp"
#include "registry/system_client.hpp"
#include "registry/write_acks.hpp"
#include "security/registry_security.hpp"
#include "transport/nats_error.hpp"
#include "transport/nats_options.hpp"
#include "transport/subscription.hpp"

namespace polaris {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// How often a node tells the others it is alive (and whether it holds the catalogue yet).
constexpr auto kNodeHeartbeatInterval = 250ms;

std::chrono::milliseconds sweep_interval_of(const RegistryOptions& options) {
  if (options.sweep_interval > std::chrono::milliseconds::zero()) return options.sweep_interval;
  // Often enough to notice a silent agent well within its timeout.
  return std::clamp(std::min(options.keepalive_deadline / 10, options.agent_timeout / 10),
                    std::chrono::milliseconds(10),
                    std::chrono::milliseconds(std::chrono::minutes(1)));
}

// nats://HOST:PORT, nats-route:// or tls:// (nats-server's route schemes), optionally with
// USER:PASSWORD@: checked here so that a typo is refused before nats-server starts.
bool is_route_url(std::string_view url) {
  std::string_view rest;
  for (const std::string_view scheme : {"nats://", "nats-route://", "tls://"}) {
    if (url.starts_with(scheme)) rest = url.substr(scheme.size());
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view host = rest.substr(0, colon);
  const std::string_view port = rest.substr(colon + 1);
  if (host.find_first_of("/ ") != std::string_view::npos) return false;
  if (port.empty() || port.size() > 5) return false;
  int value = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return value > 0 && value <= 65535;
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
  if (options.replication_timeout < std::chrono::milliseconds::zero()) {
    throw Error(Errc::invalid_argument, "replication_timeout must not be negative");
  }
  if (options.agent_timeout <= std::chrono::milliseconds::zero()) {
    throw Error(Errc::invalid_argument, "agent_timeout must be positive");
  }
  const bool own_server = options.nats_urls.empty();
  if (own_server && options.cluster.name.empty()) {
    // nats-server would ignore these without a cluster block: refuse rather than not listen.
    if (!options.routes.empty()) throw Error(Errc::invalid_argument, "routes need a cluster name");
    if (options.cluster.port != 0 || !options.cluster.advertise.empty()) {
      throw Error(Errc::invalid_argument,
                  "a cluster port or advertise address needs a cluster name (--cluster-name)");
    }
  }
  for (const auto& route : options.routes) {
    if (!is_route_url(route)) {
      throw Error(Errc::invalid_argument,
                  "route '" + route + "' is not a URL like nats://HOST:PORT");
    }
  }
  if (options.monitor && !port_ok(options.monitor->port)) {
    throw Error(Errc::invalid_argument, "monitor port must be 0-65535");
  }
  if (options.monitor && !options.nats_urls.empty()) {
    throw Error(Errc::invalid_argument,
                "monitor configures the launched nats-server; attach mode launches none");
  }
  if (options.disconnect_grace < std::chrono::milliseconds::zero()) {
    throw Error(Errc::invalid_argument, "disconnect_grace must not be negative");
  }
}

// The system account of the launched nats-server: none with token auth, which nats-server
// cannot combine with accounts.
std::optional<detail::SystemAccount> system_account_for(const RegistryOptions& options) {
  if (!options.nats_urls.empty()) return std::nullopt;
  if (options.security && !options.security->token.empty()) return std::nullopt;
  const bool users = options.security && !options.security->users.empty();
  return detail::SystemAccount::make(/*anonymous=*/!users);
}

std::string_view body_of(natsMsg* msg) {
  const char* data = natsMsg_GetData(msg);
  return {data != nullptr ? data : "", static_cast<std::size_t>(natsMsg_GetDataLength(msg))};
}

/// A change answered once its claim window has passed (registrations) and every live peer
/// confirmed it applied the change (read-your-writes), or at `give_up`.
struct PendingReply {
  Clock::time_point due;
  std::string reply_subject;
  /// Accepted claims still to confirm, each with its index in `results`.
  std::vector<std::pair<std::size_t, detail::Claim>> open;
  std::vector<Json> results;  ///< per tool, in request order; null until decided
  bool batch = false;         ///< polaris.registry.register (else the reference subject)
  std::uint64_t write = 0;    ///< the replication to wait for (WriteAcks); 0: none
  Clock::time_point give_up;  ///< answer by then even if peers have not confirmed
  std::string fixed;          ///< the reply, when it does not depend on the claim window
};

/// The last token of a subject.
std::string_view last_token(std::string_view subject) {
  const auto dot = subject.rfind('.');
  return dot == std::string_view::npos ? subject : subject.substr(dot + 1);
}

/// A token unique to this process, for subjects only this node subscribes to.
std::string unique_token() {
  natsInbox* raw = nullptr;
  detail::check_nats(natsInbox_Create(&raw), "cannot make a unique subject");
  std::string inbox(raw);
  natsInbox_Destroy(raw);
  return std::string(last_token(inbox));
}

}  // namespace

/// Thread safety: subject handlers run on nats.c delivery threads (one per subscription); the
/// housekeeper (node heartbeats, sweeps, delayed replies) on its own thread; the catalogue is
/// internally locked; `mutex_` guards the rest.
class Registry::Impl {
 public:
  explicit Impl(RegistryOptions options)
      : options_(std::move(options)),
        log_(detail::logger_or_default(options_.logger)),
        catalogue_({.allow_overwrite = options_.allow_overwrite,
                    .keepalive_deadline = options_.keepalive_deadline,
                    .agent_timeout = options_.agent_timeout}) {
    validate(options_);
    // [security hook 1/6] auth and TLS of the launched nats-server and of our own connection.
    if (options_.security) {
      security_ = std::make_unique<detail::RegistrySecurity>(*options_.security, log_);
    }
    if (options_.server_name.empty()) options_.server_name = detail::make_node_id();
    node_id_ = options_.server_name;
    clustered_ = !options_.cluster.name.empty() || !options_.nats_urls.empty();
    std::vector<std::string> servers = options_.nats_urls;
    if (servers.empty()) {
      server_ = std::make_unique<detail::NatsServer>(
          options_, log_, security_ ? security_->nats_config() : detail::NatsConfigExtras{},
          system_account_for(options_));
      servers = {server_->client_url()};
    }
    ConnectOptions connect_options{.servers = servers, .name = "polaris-registry " + node_id_};
    connect_options.randomize = false;
    if (security_) security_->apply_to(connect_options, !server_, options_.bind.host);
    auto nats_options = detail::make_nats_options(connect_options, {});
    connection_ = detail::connect_nats(nats_options.get(), servers);
    // [observe, liveness] A second connection, as the system account's user: NATS accounts
    // isolate subjects, so the registry's own user cannot see the server's events.
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
    sync_ =
        std::make_unique<detail::PeerSync>(connection_.get(), node_id_, catalogue_, stamps_, log_);
    subscribe(wire::kSyncEventSubject, "", [this](natsMsg* msg) { on_event(msg); });
    subscribe(wire::kNodeHeartbeatSubject, "",
              [this](natsMsg* msg) { sync_->on_node_heartbeat(body_of(msg)); });
    subscribe(wire::kAgentHeartbeatSubject, "",
              [this](natsMsg* msg) { on_agent_heartbeat(msg, {}); });
    subscribe(wire::user_subject("*", wire::kUserHeartbeatVerb), "", [this](natsMsg* msg) {
      if (auto user = user_request(msg, "heartbeat")) on_agent_heartbeat(msg, *user);
    });
    applied_prefix_ = std::string(wire::kSyncAppliedPrefix) + unique_token() + ".";
    subscribe(applied_prefix_ + "*", "", [this](natsMsg* msg) { on_applied(msg); });
    housekeeper_ = std::thread([this] { run_housekeeper(); });
    // From here a failure (say, the metrics port is taken) must stop the thread, the
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

 private:
  // The second half of start-up: catalogue in hand, take requests, observe.
  void serve() {
    const auto start =
        clustered_ ? sync_->synchronise(options_.sync_timeout) : detail::PeerSync::Start::alone;
    sync_->mark_synced([this](const Json& event) { apply_event(event); });
    // Subscribed only after our own introduction, so that a lone node hears no-responders at
    // once instead of waiting for answers that cannot come.
    if (clustered_) sync_->introduce();
    subscribe(wire::kNodeHelloSubject, "", [this](natsMsg* msg) { sync_->on_hello(msg); });
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
    // Only now, with the catalogue in hand, does this node take requests.
    const char* queue = wire::kRegistryQueue;
    subscribe(wire::kSyncPullSubject, "", [this](natsMsg* msg) { on_pull(msg); });
    subscribe(wire::kRegisterSubject, queue, [this](natsMsg* msg) { on_register(msg); });
    subscribe(wire::kBatchRegisterSubject, queue,
              [this](natsMsg* msg) { on_batch_register(msg, {}); });
    subscribe(wire::kUnregisterSubject, queue, [this](natsMsg* msg) { on_unregister(msg, {}); });
    subscribe(wire::kKeepaliveSubject, queue, [this](natsMsg* msg) { on_keepalive(msg, {}); });
    // [security] The same requests on the sender's own subjects (docs/SECURITY.md).
    subscribe(wire::user_subject("*", wire::kUserRegisterVerb), queue, [this](natsMsg* msg) {
      if (auto user = user_request(msg, "register")) on_batch_register(msg, *user);
    });
    subscribe(wire::user_subject("*", wire::kUserUnregisterVerb), queue, [this](natsMsg* msg) {
      if (auto user = user_request(msg, "unregister")) on_unregister(msg, *user);
    });
    subscribe(wire::user_subject("*", wire::kUserKeepaliveVerb), queue, [this](natsMsg* msg) {
      if (auto user = user_request(msg, "keepalive")) on_keepalive(msg, *user);
    });
    if (answer_lists) open_lists();
    // One node takes a leave and replicates it, answering once every live peer applied it
    // (read-your-writes, as for registrations).
    subscribe(wire::kAgentLeaveSubject, queue, [this](natsMsg* msg) { on_agent_leave(msg, {}); });
    subscribe(wire::user_subject("*", wire::kUserLeaveVerb), queue, [this](natsMsg* msg) {
      if (auto user = user_request(msg, "leave")) on_agent_leave(msg, *user);
    });
    observer_ = std::make_unique<detail::NodeObserver>(  // [observe] status, peers, metrics
        connection_.get(), detail::node_facts(options_, server_.get()), options_.metrics,
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
        report_source(), no_report_source(),
        system_ ? detail::system_account_names(*system_) : detail::ServerNameSource(),
        system_ ? system_->get() : nullptr, log_);
    detail::check_nats(natsConnection_FlushTimeout(connection_.get(), 5000),
                       "cannot confirm the registry subscriptions");
    log_->info("registry node {} serving on {}{} with {} tools", node_id_, client_url(),
               cluster_url().empty() ? "" : " (cluster " + cluster_url() + ")", tool_count());
  }

 public:
  std::string client_url() const {
    return server_ ? server_->client_url() : options_.nats_urls.front();
  }
  std::string cluster_url() const { return server_ ? server_->cluster_url() : std::string(); }
  std::size_t tool_count() const { return catalogue_.size(); }
  std::size_t agent_count() const { return catalogue_.agent_count(); }
  const std::string& node_id() const { return node_id_; }
  // [observe]
  std::string metrics_url() const { return observer_ ? observer_->metrics_url() : std::string(); }
  std::string monitoring_url() const { return server_ ? server_->monitoring_url() : std::string(); }

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
    wake_.notify_all();
    if (housekeeper_.joinable()) housekeeper_.join();
    observer_.reset();     // [observe]
    disconnects_.reset();  // its timer may still withdraw an agent: before what that uses
    std::vector<detail::Subscription> lists;
    {
      std::lock_guard lock(mutex_);
      lists = std::move(list_subscriptions_);
    }
    lists.clear();
    subscriptions_.clear();  // each waits until its callback can no longer run
    sync_.reset();
    if (connection_) natsConnection_Close(connection_.get());
    connection_.reset();
    system_.reset();
    if (server_) server_->stop();
    server_.reset();
    log_->info("registry stopped");
  }

 private:
  // [observe] Where the status's peers come from: the system account, else the monitoring
  // endpoint the operator asked for, else nowhere.
  detail::ServerReportSource report_source() const {
    if (system_) return detail::system_account_reports(*system_);
    if (server_ && !server_->monitoring_url().empty()) {
      return detail::http_monitor_reports(server_->monitoring_url());
    }
    return {};
  }

  std::string no_report_source() const {
    if (!server_) return "attached to external NATS servers: no system account";
    return "token authentication (nats-server cannot combine it with the system account) and "
           "no --monitor endpoint";
  }

  // nats-server reported that the agent's connection closed and it did not come back.
  void on_agent_disconnected(const std::string& agent, const std::string& reason) {
    if (!catalogue_.depart(agent)) return;  // no tools here (a caller, or already gone)
    log_->info("agent {} disconnected ({}) and did not connect again within {} ms", agent, reason,
               options_.disconnect_grace.count());
    sweep(Clock::now());
  }

  // The list and snapshot subjects: subscribed once the catalogue is known to be whole.
  void open_lists() {
    std::lock_guard lock(mutex_);
    if (closed_ || !list_subscriptions_.empty()) return;
    const char* queue = wire::kRegistryQueue;
    // A starting node copies its catalogue from whichever node answers first: never from one
    // that may be cut off from the nodes holding it (its lists are closed until it merged).
    list_subscriptions_.emplace_back(connection_.get(), std::string(wire::kSyncSnapshotSubject),
                                     queue,
                                     [this](detail::NatsMsgPtr msg) { on_snapshot(msg.get()); });
    list_subscriptions_.emplace_back(connection_.get(), std::string(wire::kListSubject), queue,
                                     [this](detail::NatsMsgPtr msg) { on_list(msg.get()); });
    list_subscriptions_.emplace_back(connection_.get(), std::string(wire::kPagedListSubject), queue,
                                     [this](detail::NatsMsgPtr msg) { on_page(msg.get()); });
  }

  void subscribe(std::string_view subject, const char* queue,
                 std::function<void(natsMsg*)> handler) {
    subscriptions_.emplace_back(
        connection_.get(), std::string(subject), queue,
        [handler = std::move(handler)](detail::NatsMsgPtr msg) { handler(msg.get()); });
  }

  void publish(const std::string& subject, const std::string& body) {
    const natsStatus status = natsConnection_Publish(connection_.get(), subject.c_str(),
                                                     body.data(), static_cast<int>(body.size()));
    if (status != NATS_OK) {
      log_->error("cannot publish on {}: {}", subject, natsStatus_GetText(status));
    }
  }

  void respond(natsMsg* msg, const std::string& body) {
    const char* reply = natsMsg_GetReply(msg);
    if (reply == nullptr || *reply == '\0') return;
    publish(reply, body);
  }

  // Parses a request body; answers with a clear failure when it is not JSON.
  std::optional<Json> parse(natsMsg* msg, std::string_view operation) {
    Json json = polaris::detail::parse_untrusted_json(body_of(msg));
    if (json.is_discarded()) {
      log_->warn("{}: refused a request that is not JSON", operation);
      respond(msg, wire::status_reply(false, std::string(operation) +
                                                 ": invalid request: the body is not valid JSON")
                       .dump());
      return std::nullopt;
    }
    return json;
  }

  /// Parses and stamps the declarations of a register or keepalive request.
  std::vector<detail::Claim> stamp_claims(const Json& declarations, std::string& problems) {
    std::vector<detail::Claim> claims;
    const detail::Stamp stamp = stamps_.next();
    for (const auto& declaration : declarations) {
      detail::ParsedClaim parsed = detail::parse_claim(declaration);
      if (!parsed.claim) {
        problems += (problems.empty() ? "" : "; ") + parsed.problem;
        continue;
      }
      parsed.claim->stamp = stamp;
      parsed.claim->origin = node_id_;
      claims.push_back(std::move(*parsed.claim));
    }
    return claims;
  }

  void on_register(natsMsg* msg) {
    auto json = parse(msg, "register");
    if (!json) return;
    // [security] roles: may the requester register this tool?
    if (auto refusal = refuse(msg, {}, *json, "register")) {
      respond(msg, wire::status_reply(false, *refusal).dump());
      return;
    }
    std::string problem;
    auto claims = stamp_claims(Json::array({*json}), problem);
    if (claims.empty()) {
      respond(msg, wire::status_reply(false, "register: " + problem).dump());
      return;
    }
    register_claims(msg, std::move(claims), false);
  }

  // `user`: the user whose own subject the request came on; empty on the shared subjects.
  void on_batch_register(natsMsg* msg, std::string_view user) {
    auto json = parse(msg, "register");
    if (!json) return;
    auto tools = json->is_object() ? json->find("tools") : json->end();
    if (!json->is_object() || tools == json->end() || !tools->is_array()) {
      respond(msg,
              wire::status_reply(false, "register: the body must be {\"tools\": [...]}").dump());
      return;
    }
    std::vector<detail::Claim> claims;
    std::vector<Json> results;
    const detail::Stamp stamp = stamps_.next();
    for (const auto& declaration : *tools) {
      detail::ParsedClaim parsed = detail::parse_claim(declaration);
      std::optional<std::string> refusal;
      if (!parsed.claim) refusal = "register: " + parsed.problem;
      if (!refusal) refusal = refuse_agent(user, parsed.claim->agent, "register");  // [security]
      if (!refusal) refusal = refuse(msg, user, declaration, "register");  // [security] roles
      if (refusal) {
        results.push_back({{"name", declaration.is_object() ? declaration.value("name", "") : ""},
                           {"success", false},
                           {"msg", *refusal}});
        continue;
      }
      parsed.claim->stamp = stamp;
      parsed.claim->origin = node_id_;
      claims.push_back(std::move(*parsed.claim));
      results.push_back(nullptr);  // decided below
    }
    register_claims(msg, std::move(claims), true, std::move(results));
  }

  // Applies claims here, tells the other nodes, and answers once no concurrent claim on another
  // node can still beat them (claim_window).
  void register_claims(natsMsg* msg, std::vector<detail::Claim> claims, bool batch,
                       std::vector<Json> results = {}) {
    const auto now = Clock::now();
    std::vector<detail::Claim> accepted;
    std::vector<std::pair<std::size_t, detail::Claim>> open;
    if (results.empty()) results.assign(claims.size(), nullptr);
    std::size_t slot = 0;
    for (auto& claim : claims) {
      while (slot < results.size() && !results[slot].is_null()) ++slot;  // refused while parsing
      auto outcome = catalogue_.claim(claim, now);
      publish_revocations(outcome.revoked);
      if (outcome.success) {
        log_->info("registered {}{}", claim.name,
                   claim.agent.empty() ? "" : " (agent " + claim.agent + ")");
        accepted.push_back(claim);
        open.emplace_back(slot, std::move(claim));
      } else {
        log_->info("{}", outcome.message);
        results[slot] = {{"name", claim.name}, {"success", false}, {"msg", outcome.message}};
      }
      ++slot;
    }
    const std::uint64_t write = accepted.empty() ? 0 : publish_claims("claim", accepted);
    PendingReply pending{.due = now + (clustered_ ? options_.claim_window : 0ms),
                         .reply_subject = natsMsg_GetReply(msg) ? natsMsg_GetReply(msg) : "",
                         .open = std::move(open),
                         .results = std::move(results),
                         .batch = batch,
                         .write = write};
    answer_when_replicated(std::move(pending), now);
  }

  // Answers at once when nothing is to wait for, else hands the reply to the housekeeper.
  void answer_when_replicated(PendingReply pending, Clock::time_point now) {
    pending.give_up = std::max(pending.due, now + options_.replication_timeout);
    if (pending.due <= now && acks_.complete(pending.write)) {
      answer(pending);
      return;
    }
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(pending));
    wake_.notify_all();
  }

  // A peer applied one of our replication events (on_event acknowledges it).
  void on_applied(natsMsg* msg) {
    const Json body = polaris::detail::parse_untrusted_json(body_of(msg));
    if (!body.is_object() || !body.value("node", Json()).is_string()) return;
    const std::string_view id = last_token(natsMsg_GetSubject(msg));
    std::uint64_t write = 0;
    if (std::from_chars(id.data(), id.data() + id.size(), write).ec != std::errc{}) return;
    if (!acks_.confirm(write, body["node"].get<std::string>())) return;
    { std::lock_guard lock(mutex_); }  // the housekeeper is waiting or will see it complete
    wake_.notify_all();
  }

  // The final answer to a registration: each claim this node accepted must still stand.
  void answer(PendingReply& pending) {
    if (pending.write != 0) {
      if (const auto missing = acks_.missing(pending.write); !missing.empty()) {
        std::string nodes;
        for (const auto& node : missing) nodes += (nodes.empty() ? "" : ", ") + node;
        log_->warn("answered a change without the confirmation of node(s) {} within {} ms", nodes,
                   options_.replication_timeout.count());
      }
      acks_.end(pending.write);
    }
    if (!pending.fixed.empty()) {
      if (!pending.reply_subject.empty()) publish(pending.reply_subject, pending.fixed);
      return;
    }
    for (const auto& [slot, claim] : pending.open) {
      const bool stands = catalogue_.holds(claim);
      pending.results[slot] = {
          {"name", claim.name},
          {"success", stands},
          {"msg", stands ? "OK"
                         : "register: " + claim.name +
                               " already registered (another agent registered it first)"}};
    }
    if (pending.reply_subject.empty()) return;
    if (!pending.batch) {
      const Json& result = pending.results.front();
      publish(pending.reply_subject,
              wire::status_reply(result["success"].get<bool>(), result["msg"].get<std::string>())
                  .dump());
      return;
    }
    bool all = true;
    std::string failures;
    for (const auto& result : pending.results) {
      if (result["success"].get<bool>()) continue;
      all = false;
      failures += (failures.empty() ? "" : "; ") + result["msg"].get<std::string>();
    }
    Json reply = wire::status_reply(all, all ? "OK" : failures);
    reply["results"] = pending.results;
    publish(pending.reply_subject, reply.dump());
  }

  /// Replicates claims to the other nodes in as many events as the max payload requires (a
  /// batch registration or keepalive that fits one request can exceed it once stamped).
  /// Returns the write whose confirmations to wait for (0: none).
  std::uint64_t publish_claims(std::string_view op, const std::vector<detail::Claim>& claims) {
    std::vector<std::string> texts;
    texts.reserve(claims.size());
    for (const auto& claim : claims) texts.push_back(detail::to_json(claim).dump());
    const std::string open = R"({"op":")" + std::string(op) + R"(","claims":[)";
    const auto limit = static_cast<std::size_t>(natsConnection_GetMaxPayload(connection_.get()));
    const auto split = detail::split_bodies(texts, open, "]}", limit);
    for (const auto index : split.too_large) {
      log_->error("cannot replicate {}: its claim exceeds the max payload", claims[index].name);
    }
    return replicate(split.bodies);
  }

  /// Publishes replication events, each asking every peer to confirm it applied it. Returns the
  /// write whose confirmations to wait for (0: no live peer to wait for).
  std::uint64_t replicate(const std::vector<std::string>& bodies) {
    const bool wait = clustered_ && options_.replication_timeout > 0ms;
    const auto peers = wait ? sync_->live_peers() : std::vector<std::string>{};
    const std::uint64_t write = peers.empty() ? 0 : acks_.begin(peers, bodies.size());
    const std::string reply = write == 0 ? "" : applied_prefix_ + std::to_string(write);
    const std::string subject(wire::kSyncEventSubject);
    for (const auto& body : bodies) {
      // nats.c refuses a request without a reply subject: nothing to confirm is a plain publish.
      const natsStatus status =
          reply.empty()
              ? natsConnection_Publish(connection_.get(), subject.c_str(), body.data(),
                                       static_cast<int>(body.size()))
              : natsConnection_PublishRequest(connection_.get(), subject.c_str(), reply.c_str(),
                                              body.data(), static_cast<int>(body.size()));
      if (status != NATS_OK) {
        log_->error("cannot replicate a change: {}", natsStatus_GetText(status));
      }
    }
    return write;
  }

  void publish_revocations(const std::vector<detail::Catalogue::Revocation>& revoked) {
    for (const auto& revocation : revoked) {
      log_->warn("revoked {} from agent {}: {}", revocation.name, revocation.agent,
                 revocation.message);
      publish(wire::agent_subject(revocation.agent, "revoked"),
              Json{{"name", revocation.name}, {"msg", revocation.message}}.dump());
    }
  }

  void on_unregister(natsMsg* msg, std::string_view user) {
    auto json = parse(msg, "unregister");
    if (!json) return;
    // [security] roles: only who may register a tool may unregister it.
    if (auto refusal = refuse(msg, user, *json, "unregister")) {
      respond(msg, wire::status_reply(false, *refusal).dump());
      return;
    }
    std::string problem;
    auto claims = stamp_claims(Json::array({*json}), problem);
    if (claims.empty()) {
      respond(msg, wire::status_reply(false, "unregister: " + problem).dump());
      return;
    }
    const auto& claim = claims.front();
    if (auto refusal = refuse_agent(user, claim.agent, "unregister")) {  // [security]
      respond(msg, wire::status_reply(false, *refusal).dump());
      return;
    }
    const auto now = Clock::now();
    const auto outcome = catalogue_.release(claim.name, claim.agent, claim.stamp, now);
    if (outcome.success) log_->info("unregistered {}", claim.name);
    const std::uint64_t write = replicate({Json{
        {"op", "release"}, {"name", claim.name}, {"agent", claim.agent}, {"stamp", claim.stamp}}
                                               .dump()});
    answer_when_replicated({.due = now,
                            .reply_subject = reply_of(msg),
                            .write = write,
                            .fixed = wire::status_reply(outcome.success, outcome.message).dump()},
                           now);
  }

  static std::string reply_of(natsMsg* msg) {
    const char* reply = natsMsg_GetReply(msg);
    return reply != nullptr ? reply : "";
  }

  void on_keepalive(natsMsg* msg, std::string_view user) {
    auto json = parse(msg, "keepalive");
    if (!json) return;
    if (!json->is_array()) {
      respond(msg,
              wire::status_reply(false, "keepalive: the body must be a JSON array of declarations")
                  .dump());
      return;
    }
    std::string problems;
    // [security] roles: keep alive only the tools the requester may register.
    if (security_) {
      for (const auto& refusal : security_->filter_keepalive(
               detail::Requester{.reply = natsMsg_GetReply(msg), .subject_user = user}, *json)) {
        problems += (problems.empty() ? "" : "; ") + refusal;
      }
    }
    auto claims = stamp_claims(*json, problems);
    // [security] on a user's subject, only that user's agents are kept alive.
    std::erase_if(claims, [&](const detail::Claim& claim) {
      auto refusal = refuse_agent(user, claim.agent, "keepalive");
      if (refusal) problems += (problems.empty() ? "" : "; ") + *refusal;
      return refusal.has_value();
    });
    const auto now = Clock::now();
    publish_revocations(catalogue_.keepalive(claims, now));
    const std::uint64_t write = claims.empty() ? 0 : publish_claims("keepalive", claims);
    answer_when_replicated(
        {.due = now,
         .reply_subject = reply_of(msg),
         .write = write,
         .fixed = wire::status_reply(problems.empty(),
                                     problems.empty() ? "OK" : "keepalive: " + problems)
                      .dump()},
        now);
  }

  void on_list(natsMsg* msg) {
    const std::string body = catalogue_.list_json(visible_to(msg));
    if (static_cast<std::int64_t>(body.size()) > natsConnection_GetMaxPayload(connection_.get())) {
      const std::string message = "list: the catalogue (" + std::to_string(body.size()) +
                                  " bytes) exceeds the max payload; polaris clients page through " +
                                  std::string(wire::kPagedListSubject);
      log_->error("{}", message);
      respond(msg, wire::status_reply(false, message).dump());
      return;
    }
    respond(msg, body);
  }

  void on_page(natsMsg* msg) {
    Json request = polaris::detail::parse_untrusted_json(body_of(msg));
    if (!request.is_object()) request = Json::object();
    const std::string after = request.value("after", Json("")).is_string()
                                  ? request.value("after", std::string())
                                  : std::string();
    std::size_t limit = 1000;
    if (auto it = request.find("limit"); it != request.end() && it->is_number_unsigned()) {
      limit = std::clamp<std::size_t>(it->get<std::size_t>(), 1, 100000);
    }
    respond(msg, catalogue_.page_json(after, limit, max_reply_bytes(), visible_to(msg)));
  }

  void on_snapshot(natsMsg* msg) {
    const Json request = polaris::detail::parse_untrusted_json(body_of(msg));
    answer_snapshot(msg, request);
  }

  // A peer merging our catalogue into its own (anti-entropy, see PeerSync).
  void on_pull(natsMsg* msg) {
    const Json request = polaris::detail::parse_untrusted_json(body_of(msg));
    if (!request.is_object() || request.value("node", Json()) != node_id_) return;
    answer_snapshot(msg, request);
  }

  void answer_snapshot(natsMsg* msg, const Json& request) {
    const Json after = request.is_object() ? request.value("after", Json()) : Json();
    respond(msg, catalogue_
                     .snapshot_page(after.is_string() ? after.get<std::string>() : std::string(),
                                    max_reply_bytes() / 2, Clock::now())
                     .dump());
  }

  // [security] why the requester may not (un)register `declaration`, if it may not.
  std::optional<std::string> refuse(natsMsg* msg, std::string_view user, const Json& declaration,
                                    std::string_view operation) const {
    if (!security_) return std::nullopt;
    return security_->refuse_register(
        detail::Requester{.reply = natsMsg_GetReply(msg), .subject_user = user}, declaration,
        operation);
  }

  // [security] A request on polaris.registry.user.<user>.<verb> speaks for `user`: its user, or
  // nullopt when it must not be answered (with roles, a reply subject outside the user's inbox:
  // the answer would go to someone else; logged).
  std::optional<std::string> user_request(natsMsg* msg, std::string_view operation) const {
    const char* subject = natsMsg_GetSubject(msg);
    std::string user(wire::user_of_subject(subject != nullptr ? subject : ""));
    if (user.empty()) return std::nullopt;
    if (security_ && security_->refuse_reply(user, natsMsg_GetReply(msg), operation)) {
      return std::nullopt;
    }
    return user;
  }

  // [security] On a user's own subject every agent id must be one of that user's agents
  // ("<user>.<random>"), whether roles are on or not; `user` empty (shared subjects): no check.
  std::optional<std::string> refuse_agent(std::string_view user, std::string_view agent,
                                          std::string_view operation) const {
    if (user.empty() || detail::is_agent_of(agent, user)) return std::nullopt;
    std::string message = std::string(operation) + ": user " + std::string(user) +
                          " may not speak for agent '" + std::string(agent) + "'";
    log_->warn("{}", message);
    return message;
  }

  // [security] per-caller allow-lists: the tools the requester may see (empty: all).
  detail::Catalogue::Visible visible_to(natsMsg* msg) const {
    return security_ ? security_->list_filter(natsMsg_GetReply(msg)) : detail::Catalogue::Visible{};
  }

  std::size_t max_reply_bytes() const {
    return static_cast<std::size_t>(
        std::max<std::int64_t>(4096, natsConnection_GetMaxPayload(connection_.get()) - 1024));
  }

  // Another node applied a change; replay it here (any order converges, see Catalogue).
  // The event's origin waits for this node's confirmation before it answers its client
  // (read-your-writes): confirm only once the change is applied here.
  void on_event(natsMsg* msg) {
    Json event = polaris::detail::parse_untrusted_json(body_of(msg));
    if (sync_->hold_until_synced(event)) return;
    apply_event(event);
    if (const std::string reply = reply_of(msg); !reply.empty()) {
      publish(reply, Json{{"node", node_id_}}.dump());
    }
  }

  void apply_event(const Json& event) {
    try {
      const auto now = Clock::now();
      const std::string op = event.at("op").get<std::string>();
      if (op == "claim" || op == "keepalive") {
        std::vector<detail::Claim> claims;
        for (const auto& item : event.at("claims")) {
          claims.push_back(detail::claim_from_json(item));
          stamps_.observe(claims.back().stamp);
        }
        if (op == "keepalive") {
          // Revocations of lost keepalives are told by the node that took the keepalive.
          catalogue_.keepalive(claims, now);
          return;
        }
        for (const auto& claim : claims) publish_revocations(catalogue_.claim(claim, now).revoked);
      } else if (op == "depart") {
        // A leave another node took: withdraw the agent's tools here too before confirming.
        const auto agent = event.at("agent").get<std::string>();
        mark_leaving(agent);
        if (catalogue_.depart(agent)) {
          sweep(now);
        } else {
          (void)left_on_purpose(agent);  // not known here: nothing to announce
        }
      } else if (op == "release") {
        const auto stamp = event.at("stamp").get<detail::Stamp>();
        stamps_.observe(stamp);
        catalogue_.release(event.at("name").get<std::string>(),
                           event.at("agent").get<std::string>(), stamp, now);
      }
    } catch (const std::exception& e) {
      log_->warn("ignored a malformed replication event: {}", e.what());
    }
  }

  void on_agent_heartbeat(natsMsg* msg, std::string_view user) {
    Json beat = polaris::detail::parse_untrusted_json(body_of(msg));
    if (!beat.is_object() || !beat.value("agent", Json()).is_string()) return;
    const std::string agent = beat["agent"].get<std::string>();
    // [security] another user's agent must not be kept alive (or asked to resync) by this one.
    if (refuse_agent(user, agent, "heartbeat")) return;
    const auto tools = beat.value("tools", Json(0)).is_number_unsigned()
                           ? beat["tools"].get<std::size_t>()
                           : std::size_t{0};
    if (catalogue_.heartbeat(agent, tools, Clock::now())) {
      log_->info("agent {} serves {} tools this node does not hold; asking it to resync", agent,
                 tools);
      publish(wire::agent_subject(agent, "resync"), "{}");
    }
  }

  void on_agent_leave(natsMsg* msg, std::string_view user) {
    auto json = parse(msg, "leave");
    if (!json) return;
    if (!json->is_object() || !json->value("agent", Json()).is_string()) {
      respond(msg,
              wire::status_reply(false, R"(leave: the body must be {"agent": "<id>"})").dump());
      return;
    }
    const std::string agent = (*json)["agent"].get<std::string>();
    // [security] roles: an agent speaks only for itself.
    auto refusal = refuse_agent(user, agent, "leave");
    if (!refusal && security_) {
      refusal = security_->refuse_leave(
          detail::Requester{.reply = natsMsg_GetReply(msg), .subject_user = user}, agent);
    }
    if (refusal) {
      respond(msg, wire::status_reply(false, *refusal).dump());
      return;
    }
    const auto now = Clock::now();
    mark_leaving(agent);
    const bool known = catalogue_.depart(agent);
    if (!known) (void)left_on_purpose(agent);  // nothing to announce
    sweep(now);
    const std::uint64_t write = replicate({Json{{"op", "depart"}, {"agent", agent}}.dump()});
    answer_when_replicated(
        {.due = now,
         .reply_subject = reply_of(msg),
         .write = write,
         .fixed =
             wire::status_reply(true, known ? "OK" : "OK (no tools of that agent here)").dump()},
        now);
  }

  void run_housekeeper() {
    const auto sweep_every = sweep_interval_of(options_);
    auto next_sweep = Clock::now() + sweep_every;
    auto next_beat = Clock::now();
    std::unique_lock lock(mutex_);
    while (!closed_) {
      const auto now = Clock::now();
      if (now >= next_beat) {
        lock.unlock();
        sync_->publish_node_heartbeat();
        lock.lock();
        next_beat = now + kNodeHeartbeatInterval;
      }
      if (now >= next_sweep) {
        lock.unlock();
        sweep(now);
        lock.lock();
        next_sweep = now + sweep_every;
      }
      std::vector<PendingReply> due;
      for (auto it = pending_.begin(); it != pending_.end();) {
        if ((it->due <= now && acks_.complete(it->write)) || it->give_up <= now) {
          due.push_back(std::move(*it));
          it = pending_.erase(it);
        } else {
          ++it;
        }
      }
      if (!due.empty()) {
        lock.unlock();
        for (auto& pending : due) answer(pending);
        lock.lock();
        continue;
      }
      auto wake_at = std::min(next_beat, next_sweep);
      for (const auto& pending : pending_) {
        // Past its claim window, a reply waits for confirmations (on_applied wakes us) or
        // gives up.
        wake_at = std::min(wake_at, pending.due > now ? pending.due : pending.give_up);
      }
      wake_.wait_until(lock, wake_at);
    }
  }

  void mark_leaving(const std::string& agent) {
    std::lock_guard lock(leaving_mutex_);
    leaving_.insert(agent);
  }

  bool left_on_purpose(const std::string& agent) {
    std::lock_guard lock(leaving_mutex_);
    return leaving_.erase(agent) > 0;
  }

  void sweep(Clock::time_point now) {
    const auto result = catalogue_.sweep(now);
    for (const auto& gone : result.gone_agents) {
      if (gone.departed) {
        log_->info("agent {} left, withdrawing its {} tool(s)", gone.agent, gone.tools.size());
      } else {
        log_->info("agent {} is gone: no heartbeat for {} ms", gone.agent,
                   options_.agent_timeout.count());
      }
      // Callers leave alone the calls of an agent that left on purpose (it drains them), not
      // those of one whose connection dropped (also a departure for the catalogue).
      publish(std::string(wire::kAgentGoneSubject),
              Json{{"agent", gone.agent},
                   {"tools", gone.tools},
                   {"departed", gone.departed && left_on_purpose(gone.agent)}}
                  .dump());
    }
    for (const auto& name : result.expired) log_->info("removed {}", name);
  }

  RegistryOptions options_;
  Logger log_;
  detail::Catalogue catalogue_;
  detail::StampClock stamps_;
  std::string node_id_;
  bool clustered_ = false;
  std::unique_ptr<detail::RegistrySecurity> security_;  // null: no security configuration
  std::unique_ptr<detail::NatsServer> server_;
  detail::NatsConnectionPtr connection_;
  std::unique_ptr<detail::PeerSync> sync_;
  std::vector<detail::Subscription> subscriptions_;
  std::unique_ptr<detail::SystemClient> system_;  // null: no system account
  std::unique_ptr<detail::AgentDisconnects> disconnects_;
  std::unique_ptr<detail::NodeObserver> observer_;  // [observe]
  std::mutex mutex_;
  std::condition_variable wake_;
  bool closed_ = false;
  std::vector<PendingReply> pending_;
  std::vector<detail::Subscription> list_subscriptions_;  // guarded by mutex_
  std::mutex leaving_mutex_;
  std::set<std::string> leaving_;  ///< agents whose leave request is being applied
  detail::WriteAcks acks_;
  std::string applied_prefix_;  ///< where peers confirm our replication events
  std::thread housekeeper_;
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
std::string Registry::metrics_url() const { return impl_->metrics_url(); }  // [observe]
std::string Registry::monitoring_url() const { return impl_->monitoring_url(); }
void Registry::run_until_shutdown() { impl_->run_until_shutdown(); }
void Registry::reload_security() { impl_->reload_security(); }
void Registry::close() { impl_->close(); }

}  // namespace polaris
