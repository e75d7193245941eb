// Test support: real registry processes (the project's own `polaris registry`) and raw NATS peers.
#pragma once

#include <nats/nats.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "polaris/json.hpp"
#include "process/child_process.hpp"
#include "transport/nats_handles.hpp"

namespace polaris::test {

/// `polaris registry --port 0 --log-level debug ARGS... --ready-file F` as a child process,
/// started and ready; ARGS may set their own --port and --log-level.
class RegistryProcess {
 public:
  /// @param args extra flags, e.g. {"--cluster-name", "c", "--route", url}
  explicit RegistryProcess(std::vector<std::string> args = {});

  [[nodiscard]] const std::string& client_url() const { return client_url_; }
  [[nodiscard]] const std::string& cluster_url() const { return cluster_url_; }
  [[nodiscard]] int pid() const { return process_->pid(); }
  [[nodiscard]] detail::ChildProcess& process() { return *process_; }
  /// PIDs of the registry's own children (its nats-server).
  [[nodiscard]] std::vector<int> child_pids() const;
  void kill_hard();  ///< SIGKILL, then wait for exit

 private:
  std::unique_ptr<detail::TempDir> dir_;
  std::unique_ptr<detail::ChildProcess> process_;
  std::string client_url_;
  std::string cluster_url_;
};

/// A raw nats.c connection, for speaking the wire protocol without the polaris library.
class RawNats {
 public:
  explicit RawNats(const std::string& url);
  /// Sends a request and returns the reply body; throws polaris::Error on failure.
  std::string request(const std::string& subject, const std::string& body, int timeout_ms = 2000);
  [[nodiscard]] natsConnection* get() const { return connection_.get(); }

 private:
  detail::NatsConnectionPtr connection_;
};

/// The tool names `node` lists on the reference subject. A node answers the requests of its own
/// clients (NATS prefers a local member of a queue group), so this is that node's catalogue.
std::set<std::string> names_on(const RegistryProcess& node);

/// The path of the polaris program under test.
std::string polaris_program();

}  // namespace polaris::test
