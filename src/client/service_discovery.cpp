#include "client/service_discovery.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>  // program_invocation_short_name (glibc)
#include <random>

#include "common/rfc3339.hpp"
#include "polaris/error.hpp"
#include "polaris/version.hpp"
#include "transport/message.hpp"
#include "transport/publish.hpp"

namespace polaris::detail {
namespace {

constexpr std::string_view kPrefix = "$SRV.";

// 22 characters [A-Za-z0-9], like a NUID (and like the agent ids of docs/PROTOCOL.md).
std::string random_id() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device seed;
  std::mt19937_64 random(
      (static_cast<std::uint64_t>(seed()) << 32U) ^ static_cast<std::uint64_t>(seed()) ^
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string id(22, ' ');
  for (char& c : id) c = kAlphabet[pick(random)];
  return id;
}

// "$SRV.STATS.polaris.<id>" -> "STATS"
std::string_view verb_of(std::string_view subject) {
  if (subject.substr(0, kPrefix.size()) != kPrefix) return {};
  subject.remove_prefix(kPrefix.size());
  return subject.substr(0, subject.find('.'));
}

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return {};
  return name.data();
}

}  // namespace

std::string service_id_of(std::string_view agent_id) {
  std::string id(agent_id);
  std::replace(id.begin(), id.end(), '.', '_');
  return id;
}

ServiceIdentity agent_service_identity(std::string_view agent_id, std::string connection_name) {
  Json metadata = {{"agent", std::string(agent_id)},
                   {"host", host_name()},
                   {"pid", std::to_string(::getpid())},
                   {"program", std::string(program_invocation_short_name)},
                   {"version", std::string(version())}};
  return ServiceIdentity{.id = service_id_of(agent_id),
                         .connection_name = std::move(connection_name),
                         .metadata = std::move(metadata)};
}

std::string agent_of(const Json& answer) {
  if (!answer.is_object()) return {};
  if (const auto metadata = answer.find("metadata");
      metadata != answer.end() && metadata->is_object()) {
    if (const auto agent = metadata->find("agent"); agent != metadata->end() &&
                                                    agent->is_string() &&
                                                    !agent->get_ref<const std::string&>().empty()) {
      return agent->get<std::string>();
    }
  }
  const auto id = answer.find("id");
  return id != answer.end() && id->is_string() ? id->get<std::string>() : std::string();
}

ServiceDiscovery::ServiceDiscovery(natsConnection* connection, ServiceIdentity identity, Logger log)
    : connection_(connection),
      identity_(std::move(identity)),
      log_(std::move(log)),
      started_(rfc3339(std::chrono::system_clock::now())) {
  if (identity_.id.empty()) identity_.id = random_id();
  if (!identity_.metadata.is_object()) identity_.metadata = Json::object();
  if (!identity_.connection_name.empty())
    identity_.metadata["connection"] = identity_.connection_name;
}

ServiceDiscovery::~ServiceDiscovery() {
  // Each subscription waits until its callback can no longer run, so `this` outlives them.
  subscriptions_.clear();
}

void ServiceDiscovery::add_endpoint(const std::string& name, const std::string& subject,
                                    const std::string& queue_group, const std::string& description,
                                    std::shared_ptr<const ToolStats> stats) {
  std::unique_lock lock(mutex_);
  endpoints_[name] = Endpoint{subject, queue_group, description, std::move(stats)};
  if (subscribed_) return;
  // Answers to "all services", "all polaris services" and "this one", for each verb. Exact
  // subjects, no wildcard: under roles an agent may subscribe to no "$SRV" pattern, since
  // nats-server 2.9 would let ">" through an allowed "$SRV.*" (docs/SECURITY.md).
  const std::string name_part = "." + std::string(kServiceName);
  try {
    for (const char* verb : {"PING", "INFO", "STATS"}) {
      const std::string base = std::string(kPrefix) + verb;
      for (const std::string& discovery_subject :
           {base, base + name_part, base + name_part + "." + identity_.id}) {
        subscriptions_.emplace_back(connection_, discovery_subject, "",
                                    [this](NatsMsgPtr msg) { on_request(msg); });
      }
    }
  } catch (const std::exception& error) {  // discovery is best effort: the tool still works
    // Unsubscribing waits for a running callback, which may be waiting for our lock: release it.
    std::vector<Subscription> made = std::move(subscriptions_);
    subscriptions_.clear();
    lock.unlock();
    made.clear();
    log_->warn("service discovery: cannot subscribe: {}", error.what());
    return;
  }
  subscribed_ = true;
}

void ServiceDiscovery::remove_endpoint(std::string_view name) {
  std::lock_guard lock(mutex_);
  if (auto it = endpoints_.find(name); it != endpoints_.end()) endpoints_.erase(it);
}

Json ServiceDiscovery::header(std::string_view type) const {
  return Json{{"type", "io.nats.micro.v1." + std::string(type)},
              {"name", kServiceName},
              {"id", identity_.id},
              {"version", std::string(version())},
              {"metadata", identity_.metadata}};
}

Json ServiceDiscovery::ping() const { return header("ping_response"); }

Json ServiceDiscovery::info() const {
  Json reply = header("info_response");
  reply["description"] = identity_.connection_name.empty()
                             ? std::string("polaris agent")
                             : "polaris agent " + identity_.connection_name;
  Json endpoints = Json::array();
  std::lock_guard lock(mutex_);
  for (const auto& [name, endpoint] : endpoints_) {
    Json metadata = Json::object();
    if (!endpoint.description.empty()) metadata["description"] = endpoint.description;
    endpoints.push_back({{"name", name},
                         {"subject", endpoint.subject},
                         {"queue_group", endpoint.queue_group},
                         {"metadata", std::move(metadata)}});
  }
  reply["endpoints"] = std::move(endpoints);
  return reply;
}

Json ServiceDiscovery::stats() const {
  Json reply = header("stats_response");
  reply["started"] = started_;
  Json endpoints = Json::array();
  std::lock_guard lock(mutex_);
  for (const auto& [name, endpoint] : endpoints_) {
    const auto snapshot = endpoint.stats->snapshot();
    // ADR-32: processing_time divided by num_requests, truncated; 0 without requests.
    const auto average = snapshot.requests == 0 ? std::int64_t{0}
                                                : snapshot.total.count() /
                                                      static_cast<std::int64_t>(snapshot.requests);
    endpoints.push_back({{"name", name},
                         {"subject", endpoint.subject},
                         {"queue_group", endpoint.queue_group},
                         {"num_requests", snapshot.requests},
                         {"num_errors", snapshot.errors},
                         {"last_error", snapshot.last_error},
                         {"processing_time", snapshot.total.count()},
                         {"average_processing_time", average},
                         {"data", stats_data(snapshot)}});
  }
  reply["endpoints"] = std::move(endpoints);
  return reply;
}

void ServiceDiscovery::on_request(const NatsMsgPtr& msg) {
  const std::string reply_subject = message_reply(msg.get());
  if (reply_subject.empty()) return;
  const std::string_view verb = verb_of(message_subject(msg.get()));
  std::string body;
  try {
    if (verb == "PING") {
      body = ping().dump(-1, ' ', false, Json::error_handler_t::replace);
    } else if (verb == "INFO") {
      body = info().dump(-1, ' ', false, Json::error_handler_t::replace);
    } else if (verb == "STATS") {
      body = stats().dump(-1, ' ', false, Json::error_handler_t::replace);
    } else {
      return;  // a verb of a later revision of the protocol: not ours to answer
    }
  } catch (const std::exception& error) {  // dump() throws on invalid UTF-8 in an error message
    log_->warn("service discovery: cannot answer {}: {}", verb, error.what());
    return;
  }
  const natsStatus status = detail::publish(connection_, reply_subject, {}, body);
  if (status != NATS_OK) {
    log_->debug("service discovery: cannot answer {}: {}", verb, status_text(status));
  }
}

}  // namespace polaris::detail
