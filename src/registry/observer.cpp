#include "registry/observer.hpp"
#include "common/untrusted_json.hpp"

#include <spdlog/spdlog.h>

#include "client/service_discovery.hpp"  // kServiceName
#include "registry/metrics_text.hpp"
#include "registry/nats_server.hpp"
#include "registry/system_client.hpp"
#include "transport/gather.hpp"

namespace polaris::detail {

NodeFacts node_facts(const RegistryOptions& options, const NatsServer* server) {
  NodeFacts facts;
  facts.name = options.server_name;
  facts.cluster_name = options.cluster.name;
  if (server != nullptr) {
    facts.client_url = server->client_url();
    facts.cluster_url = server->cluster_url();
    facts.monitoring_url = server->monitoring_url();
  } else if (!options.nats_urls.empty()) {
    facts.client_url = options.nats_urls.front();
  }
  return facts;
}

NodeObserver::NodeObserver(natsConnection* connection, NodeFacts facts,
                           const std::optional<Endpoint>& metrics, Counter count, Readiness ready,
                           ServerReportSource reports, std::string no_reports,
                           ServerNameSource names, natsConnection* system, Logger log)
    : connection_(connection),
      facts_(std::move(facts)),
      count_(std::move(count)),
      ready_(std::move(ready)),
      log_(std::move(log)),
      peers_(std::move(reports), std::move(no_reports), std::move(names), std::chrono::seconds(1),
             log_) {
  if (system != nullptr) {
    shutdown_subscription_ =
        Subscription(system, "$SYS.SERVER.*.SHUTDOWN", "", [this](NatsMsgPtr msg) {
          const std::string subject = natsMsg_GetSubject(msg.get());
          const auto first = subject.find('.', 5);  // after "$SYS."
          const auto last = subject.rfind('.');
          if (first == std::string::npos || last <= first + 1) return;
          const std::string id = subject.substr(first + 1, last - first - 1);
          log_->info("peer server {} shut down", id);
          peers_.mark_left(id);
        });
  }
  status_subscription_ =
      Subscription(connection_, std::string(kStatusSubject), "", [this](NatsMsgPtr msg) {
        const char* reply = natsMsg_GetReply(msg.get());
        if (reply == nullptr || *reply == '\0') return;
        std::string body;
        try {
          body = status().dump(-1, ' ', false, Json::error_handler_t::replace);
        } catch (const std::exception& error) {
          log_->warn("status: {}", error.what());
          return;
        }
        if (const natsStatus sent = natsConnection_Publish(connection_, reply, body.data(),
                                                           static_cast<int>(body.size()));
            sent != NATS_OK) {
          log_->warn("status: cannot reply: {}", natsStatus_GetText(sent));
        }
      });
  if (metrics) {
    metrics_ = std::make_unique<MetricsServer>(
        metrics->host, metrics->port,
        MetricsServer::Pages{.metrics = [this] { return render_metrics_now(); },
                             .ready = [this] { return not_ready(); }},
        log_);
  }
}

NodeObserver::~NodeObserver() {
  metrics_.reset();
  status_subscription_.unsubscribe();
  shutdown_subscription_.unsubscribe();
}

Json NodeObserver::status() { return build_status(facts_, peers_.refresh(), count_()); }

std::string NodeObserver::metrics_url() const { return metrics_ ? metrics_->url() : std::string(); }

std::string NodeObserver::not_ready() const {
  if (natsConnection_Status(connection_) != NATS_CONN_STATUS_CONNECTED) {
    return "not connected to nats-server";
  }
  return ready_ ? ready_() : std::string();
}

std::string NodeObserver::render_metrics_now() {
  // The agents keep the call counters (calls never pass through the registry): ask them all.
  std::vector<Json> answers;
  for (const auto& body : gather(connection_, "$SRV.STATS." + std::string(kServiceName), "",
                                 GatherOptions{.timeout = std::chrono::seconds(3),
                                 .quiet = std::chrono::milliseconds(250)})) {
    Json answer = polaris::detail::parse_untrusted_json(body);
    if (!answer.is_discarded()) answers.push_back(std::move(answer));
  }
  return render_metrics(status(), answers);
}

PeerSources peer_sources(const NatsServer* server, const SystemClient* system) {
  PeerSources sources;
  if (system != nullptr) {
    sources.reports = system_account_reports(*system);
    sources.names = system_account_names(*system);
  } else if (server != nullptr && !server->monitoring_url().empty()) {
    sources.reports = http_monitor_reports(server->monitoring_url());
  }
  if (server == nullptr) {
    sources.no_reports = "attached to external NATS servers: no system account";
  } else {
    sources.no_reports =
        "token authentication (nats-server cannot combine it with the system account) and no "
        "--monitor endpoint";
  }
  return sources;
}

}  // namespace polaris::detail
