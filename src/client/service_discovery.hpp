// Internal: an agent as a NATS service (ADR-32, "NATS micro"): $SRV.PING, $SRV.INFO, $SRV.STATS.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "client/tool_stats.hpp"
#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "transport/subscription.hpp"

namespace polaris::detail {

/// The service name every polaris agent announces (ADR-32 names: [A-Za-z0-9_-]).
inline constexpr std::string_view kServiceName = "polaris";

/// Who the service is. One service per agent connection.
struct ServiceIdentity {
  std::string id;                  ///< unique per connection; empty: a new random one
  std::string connection_name;     ///< shown in the description and the metadata
  Json metadata = Json::object();  ///< string values only (ADR-33)
};

/// The service id of an agent: its agent id, with the `.` of a `<user>.<random>` id replaced
/// by `_` (an id is a subject token in `$SRV.<verb>.polaris.<id>`). docs/PROTOCOL.md.
std::string service_id_of(std::string_view agent_id);

/// The identity of agent `agent_id`'s service: id service_id_of(agent_id), metadata `agent`
/// (the agent id itself), `host`, `pid`, `program`, `version` and `connection` (when named).
ServiceIdentity agent_service_identity(std::string_view agent_id, std::string connection_name);

/// The agent id of a service answer: metadata `agent` when present (polaris agents), else `id`
/// (other services).
std::string agent_of(const Json& answer);

/// Answers the discovery verbs for one connection's tools, each tool an endpoint. Subscribes
/// (`$SRV.*`, `$SRV.*.polaris`, `$SRV.*.polaris.<id>`) when the first endpoint is added, so a
/// connection that serves no tool is no service.
///
/// Thread safety: all methods may be called from any thread; requests are answered on the
/// subscriptions' delivery threads. Destroy it before the NATS connection closes.
class ServiceDiscovery {
 public:
  ServiceDiscovery(natsConnection* connection, ServiceIdentity identity, Logger log);
  ~ServiceDiscovery();
  ServiceDiscovery(const ServiceDiscovery&) = delete;
  ServiceDiscovery& operator=(const ServiceDiscovery&) = delete;

  /// Adds (or replaces) the endpoint `name`. An empty `queue_group` is reported as such.
  /// Never throws for NATS failures: discovery is best effort (a failure is logged).
  void add_endpoint(const std::string& name, const std::string& subject,
                    const std::string& queue_group, const std::string& description,
                    std::shared_ptr<const ToolStats> stats);
  void remove_endpoint(std::string_view name);

  [[nodiscard]] const std::string& id() const noexcept { return identity_.id; }
  [[nodiscard]] Json ping() const;
  [[nodiscard]] Json info() const;
  [[nodiscard]] Json stats() const;

 private:
  struct Endpoint {
    std::string subject;
    std::string queue_group;
    std::string description;
    std::shared_ptr<const ToolStats> stats;
  };

  Json header(std::string_view type) const;
  void on_request(const NatsMsgPtr& msg);

  natsConnection* connection_;
  ServiceIdentity identity_;
  Logger log_;
  std::string started_;  // RFC 3339, UTC
  mutable std::mutex mutex_;
  std::map<std::string, Endpoint, std::less<>> endpoints_;
  bool subscribed_ = false;
  std::vector<Subscription> subscriptions_;  // last: unsubscribed first on destruction
};

}  // namespace polaris::detail
