// `polaris console`: the web console (src/console/): the cluster at a glance and every tool one
// form away, served on HTTP. This file is the cluster side: what `polaris status`, `polaris stats`
// and `polaris tools` gather, refreshed by one thread, and calls through a Connection.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "cli/cluster_report.hpp"
#include "cli/common.hpp"
#include "cli/observe_common.hpp"
#include "console/backend.hpp"
#include "console/server.hpp"
#include "polaris/error.hpp"
#include "polaris/shutdown.hpp"
#include "polaris/version.hpp"

namespace polaris::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before threads
  return value == nullptr ? std::string() : std::string(value);
}

/// The cluster as the console shows it. One thread refreshes status, catalogue and statistics
/// every `refresh` (status first: a node that died shows within one round); the HTTP threads
/// read the latest copies.
/// Thread safety: every method from any thread.
class ClusterBackend final : public console::Backend {
 public:
  struct Options {
    std::vector<std::string> servers;
    std::string user;  ///< POLARIS_USER: named in the admin-only notices
    std::chrono::milliseconds refresh{1000};
    std::chrono::milliseconds quiet{300};
    std::chrono::milliseconds call_timeout{60000};
  };

  ClusterBackend(Connection& connection, detail::NatsConnectionPtr plain, Options options)
      : connection_(connection), plain_(std::move(plain)), options_(std::move(options)) {
    refresher_ = std::thread([this] { refresh_loop(); });
  }
  ~ClusterBackend() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    refresher_.join();
  }
  ClusterBackend(const ClusterBackend&) = delete;
  ClusterBackend& operator=(const ClusterBackend&) = delete;

  Json info() override {
    return Json{{"version", std::string(version())},
                {"user", options_.user},
                {"servers", options_.servers},
                {"connected_url", connection_.connected_url()},
                {"refresh_ms", options_.refresh.count()}};
  }

  Json status() override { return snapshot(status_); }
  Json tools() override { return snapshot(tools_); }
  Json stats() override { return snapshot(stats_); }

  std::future<Json> call(const std::string& tool, const Json& arguments,
                         std::function<void(const Json&)> on_progress) override {
    CallOptions options;
    options.timeout = options_.call_timeout;
    options.on_progress = std::move(on_progress);
    return connection_.call_async(tool, arguments, options);
  }

 private:
  struct Section {
    Json data = Json::object();
    Clock::time_point updated{};
    bool loaded = false;
  };

  Json snapshot(const Section& section) {
    std::lock_guard lock(mutex_);
    Json copy = section.data;
    copy["loaded"] = section.loaded;
    copy["age_ms"] =
        section.loaded
            ? std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - section.updated)
                  .count()
            : 0;
    return copy;
  }

  void store(Section& section, Json data) {
    std::lock_guard lock(mutex_);
    section.data = std::move(data);
    section.updated = Clock::now();
    section.loaded = true;
  }

  std::string admin_only(const std::string& what, const std::string& subject) const {
    std::string notice = "No answer on " + subject + ". " + what + " is admin-only";
    if (!options_.user.empty()) {
      notice += ": the console runs as user '" + options_.user +
                "', which may not be allowed to ask (docs/SECURITY.md)";
    } else {
      notice += " when the registry has roles (docs/SECURITY.md)";
    }
    return notice + ".";
  }

  void refresh_status() {
    Json report;
    try {
      report = gather_status(plain_.get(), options_.quiet, known_nodes_);
      report["notice"] = report["nodes"].empty()
                             ? admin_only("Cluster status", "polaris.registry.status") +
                                   " Or no registry node is reachable."
                             : "";
    } catch (const std::exception& error) {
      report = Json{{"nodes", Json::array()},
                    {"missing", Json::array()},
                    {"left", Json::array()},
                    {"notice", std::string("cannot ask for the status: ") + error.what()}};
    }
    store(status_, std::move(report));
  }

  // The statistics, with each row's call and error rates since the previous round.
  Json refresh_stats() {
    Json rows = Json::array();
    std::string notice;
    try {
      rows = gather_stats(plain_.get(), options_.quiet);
    } catch (const std::exception& error) {
      notice = std::string("cannot ask for the statistics: ") + error.what();
    }
    const auto now = Clock::now();
    std::map<std::string, Sample> samples;
    for (auto& row : rows) {
      const std::string key = row.value("tool", "") + '\n' + row.value("agent", "");
      const Sample sample{row.value("calls", 0.0), row.value("errors", 0.0), now};
      const auto previous = samples_.find(key);
      double call_rate = 0;
      double error_rate = 0;
      if (previous != samples_.end()) {
        const double seconds = std::chrono::duration<double>(now - previous->second.at).count();
        if (seconds > 0) {
          call_rate = std::max(0.0, (sample.calls - previous->second.calls) / seconds);
          error_rate = std::max(0.0, (sample.errors - previous->second.errors) / seconds);
        }
      }
      row["call_rate"] = call_rate;
      row["error_rate"] = error_rate;
      samples[key] = sample;
    }
    samples_ = std::move(samples);
    if (notice.empty() && rows.empty()) {
      notice = admin_only("Statistics", "$SRV.STATS.polaris") + " Or no agent serves a tool.";
    }
    store(stats_, Json{{"rows", rows}, {"notice", notice}});
    return rows;
  }

  void refresh_tools(const Json& stats_rows) {
    std::map<std::string, std::set<std::string>> agents;
    for (const auto& row : stats_rows) agents[row.value("tool", "")].insert(row.value("agent", ""));
    Json tools = Json::array();
    std::string notice;
    try {
      for (const auto& declaration : connection_.list_tools()) {
        Json tool = declaration.to_json();
        const auto found = agents.find(declaration.name);
        tool["agents"] = found == agents.end() ? Json::array() : Json(found->second);
        tools.push_back(std::move(tool));
      }
    } catch (const std::exception& error) {
      notice = std::string("cannot list the tools: ") + error.what();
    }
    store(tools_, Json{{"tools", tools}, {"notice", notice}});
  }

  void refresh_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      refresh_status();
      refresh_tools(refresh_stats());
      lock.lock();
      wake_.wait_for(lock, options_.refresh, [this] { return stopping_; });
    }
  }

  struct Sample {
    double calls = 0;
    double errors = 0;
    Clock::time_point at{};
  };

  Connection& connection_;
  detail::NatsConnectionPtr plain_;  // the refresher's only
  const Options options_;
  std::map<std::string, std::string> known_nodes_;  // the refresher's only
  std::map<std::string, Sample> samples_;           // the refresher's only
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  Section status_;
  Section tools_;
  Section stats_;
  std::thread refresher_;  // last: started once the rest is built
};

struct Flags {
  std::vector<std::string> servers;
  std::string http = "127.0.0.1:8080";
  std::string token;
  std::vector<std::string> hosts;
  std::vector<std::string> origins;
  bool read_only = false;
  std::string call_timeout = "60s";
  std::string refresh = "1s";
};

}  // namespace

void add_console_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<Flags>();
  CLI::App* command = app.add_subcommand(
      "console", "A web console: the cluster at a glance and every tool one form away");
  add_server_option(*command, flags->servers);
  command->add_option("--http", flags->http,
                      "Serve on HOST:PORT (default 127.0.0.1:8080; port 0: any; prints the URL)");
  command->add_option(
      "--token", flags->token,
      "Require Authorization: Bearer TOKEN on the API; default $POLARIS_CONSOLE_TOKEN");
  command->add_option("--allowed-host", flags->hosts, "Also accept this Host header (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--allowed-origin", flags->origins, "Also accept this Origin (repeatable)")
      ->allow_extra_args(false);
  command->add_flag("--read-only", flags->read_only, "Show the cluster and tools; refuse calls");
  command->add_option("--call-timeout", flags->call_timeout,
                      "Timeout of one tool call made from the page (default 60s)");
  command->add_option("--refresh", flags->refresh,
                      "How often status, catalogue and statistics are gathered (default 1s)");
  command->callback([flags, &exit_code] {
    ClusterBackend::Options backend_options{.servers = flags->servers,
                                            .user = env_or_empty("POLARIS_USER")};
    console::ServerOptions options{.bearer_token = flags->token,
                                   .allowed_hosts = flags->hosts,
                                   .allowed_origins = flags->origins,
                                   .read_only = flags->read_only};
    if (options.bearer_token.empty()) options.bearer_token = env_or_empty("POLARIS_CONSOLE_TOKEN");
    std::string host;
    int port = 0;
    try {
      backend_options.call_timeout = parse_duration(flags->call_timeout);
      backend_options.refresh = parse_duration(flags->refresh);
      const auto address = parse_host_port("--http", flags->http);
      host = address.host;
      port = address.port;
    } catch (const CLI::ValidationError& error) {
      print_error(error.what());
      exit_code = kUsage;
      return;
    }
    auto connection = connect_client(flags->servers, exit_code);
    if (!connection) return;
    auto plain = connect_plain(flags->servers, exit_code);
    if (!plain) return;
    try {
      ClusterBackend backend(*connection, std::move(*plain), backend_options);
      console::Server server(backend, options);
      server.listen(host, port);
      std::cout << "http://" << host << ":" << server.port() << "/" << std::endl;
      wait_for_shutdown();
      server.close();
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = exit_code_for(error);
    }
  });
}

}  // namespace polaris::cli
