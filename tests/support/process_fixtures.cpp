#include "support/process_fixtures.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "polaris/error.hpp"
#include "support/wait.hpp"
#include "transport/nats_error.hpp"

namespace polaris::test {

std::string polaris_program() { return POLARIS_CLI_PATH; }

RegistryProcess::RegistryProcess(std::vector<std::string> args)
    : dir_(std::make_unique<detail::TempDir>("polaris-test-")) {
  const std::string ready_file = dir_->path() + "/ready.json";
  std::vector<std::string> argv{polaris_program(), "registry"};
  // Defaults the caller may override: a flag given twice is a usage error.
  const auto given = [&](const std::string& flag) {
    return std::find(args.begin(), args.end(), flag) != args.end();
  };
  if (!given("--port")) argv.insert(argv.end(), {"--port", "0"});
  if (!given("--log-level")) argv.insert(argv.end(), {"--log-level", "debug"});
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--ready-file", ready_file});
  process_ = std::make_unique<detail::ChildProcess>(detail::ChildProcessOptions{.argv = argv});
  const bool ready =
      wait_until([&] { return std::filesystem::exists(ready_file) || !process_->running(); });
  if (!ready || !std::filesystem::exists(ready_file)) {
    throw Error(Errc::process, "registry did not become ready: " + process_->describe_exit());
  }
  std::ifstream file(ready_file);
  std::stringstream text;
  text << file.rdbuf();
  const Json info = Json::parse(text.str());
  client_url_ = info.at("client_url").get<std::string>();
  cluster_url_ = info.at("cluster_url").get<std::string>();
  monitoring_url_ = info.value("monitoring_url", std::string());
}

std::vector<int> RegistryProcess::child_pids() const {
  std::vector<int> pids;
  const std::string tasks = "/proc/" + std::to_string(pid()) + "/task";
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    std::ifstream children(task.path() / "children");
    for (int child = 0; children >> child;) pids.push_back(child);
  }
  return pids;
}

void RegistryProcess::kill_hard() {
  process_->signal(SIGKILL);
  process_->wait_for_exit(std::chrono::seconds(10));
}

RawNats::RawNats(const std::string& url) {
  natsConnection* raw = nullptr;
  detail::check_nats(natsConnection_ConnectTo(&raw, url.c_str()), "raw connect to " + url);
  connection_.reset(raw);
}

std::string RawNats::request(const std::string& subject, const std::string& body, int timeout_ms) {
  natsMsg* reply = nullptr;
  detail::check_nats(natsConnection_Request(&reply, connection_.get(), subject.c_str(), body.data(),
                                            static_cast<int>(body.size()), timeout_ms),
                     "raw request on " + subject);
  detail::NatsMsgPtr owned(reply);
  return {natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply))};
}

std::set<std::string> names_on(const RegistryProcess& node) {
  RawNats raw(node.client_url());
  std::set<std::string> names;
  for (const auto& tool : Json::parse(raw.request("polaris:tool:list", ""))) {
    names.insert(tool["name"].get<std::string>());
  }
  return names;
}

}  // namespace polaris::test
