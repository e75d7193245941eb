#include "support/cluster.hpp"

#include "polaris/error.hpp"
#include "support/wait.hpp"
#include "transport/subscription.hpp"

namespace polaris::test {

std::vector<std::string> cluster_node_args(const std::string& name,
                                           const std::vector<std::string>& routes) {
  std::vector<std::string> args{"--cluster-name", name, "--cluster-port", "0"};
  for (const auto& route : routes) args.insert(args.end(), {"--route", route});
  return args;
}

void await_route(const RegistryProcess& from, const RegistryProcess& to,
                 std::chrono::milliseconds timeout) {
  // Only a listener on `to` can answer, so an answer proves the request crossed the route; the
  // subject names the pair so that a probe never meets another pair's listener.
  const std::string subject =
      "polaris-test.probe." + std::to_string(from.pid()) + "." + std::to_string(to.pid());
  RawNats listener(to.client_url());
  detail::Subscription probe(listener.get(), subject, "", [&](detail::NatsMsgPtr msg) {
    natsConnection_PublishString(listener.get(), natsMsg_GetReply(msg.get()), "here");
  });
  natsConnection_Flush(listener.get());
  RawNats speaker(from.client_url());
  const bool routed = wait_until(
      [&] {
        try {
          return speaker.request(subject, "", 200) == "here";
        } catch (const Error&) {
          return false;
        }
      },
      timeout);
  if (!routed) {
    throw Error(Errc::process, "no route from " + from.client_url() + " to " + to.client_url());
  }
}

TestCluster::TestCluster(Options options) : options_(std::move(options)) {
  for (std::size_t i = 0; i < options_.nodes; ++i) {
    nodes_.push_back(
        start_node(i, i == 0 ? std::vector<std::string>{} : std::vector{nodes_[0]->cluster_url()}));
  }
  for (const auto& from : nodes_) {
    for (const auto& to : nodes_) {
      if (from != to) await_route(*from, *to);
    }
  }
}

std::unique_ptr<RegistryProcess> TestCluster::start_node(
    std::size_t i, const std::vector<std::string>& routes) const {
  auto args = cluster_node_args(options_.name, routes);
  if (options_.node_args) {
    const auto extra = options_.node_args(i);
    args.insert(args.end(), extra.begin(), extra.end());
  }
  return std::make_unique<RegistryProcess>(args);
}

std::vector<std::string> TestCluster::urls_from(std::size_t first) const {
  std::vector<std::string> urls;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    urls.push_back(nodes_[(first + i) % nodes_.size()]->client_url());
  }
  return urls;
}

Connection TestCluster::connect_from(std::size_t first) const {
  ConnectOptions options{.servers = urls_from(first)};
  options.randomize = false;
  options.reconnect_wait = std::chrono::milliseconds(50);
  return Connection(options);
}

RegistryProcess& TestCluster::restart(std::size_t i) {
  nodes_.at(i)->kill_hard();
  const std::size_t peer = i == 0 ? 1 : 0;
  nodes_[i] = start_node(i, {nodes_.at(peer)->cluster_url()});
  return *nodes_[i];
}

}  // namespace polaris::test
