// clustering-registry N: registry node N of the seed's three-node cluster.
//   node N: client port 4221+N, cluster port 5221+N; nodes after the first route to node 1.
#include <polaris/polaris.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  const std::string usage = "usage: clustering-registry N   (node number 1, 2, 3, ...)";
  if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::cout << usage
              << "\nRuns registry node N: client port 4221+N, cluster port 5221+N; nodes "
                 "after the first route to node 1.\n";
    return 0;
  }
  int node = 0;
  if (argc == 2) {
    try {
      node = std::stoi(argv[1]);
    } catch (const std::exception&) {
      node = 0;
    }
  }
  if (node < 1 || node > 1000) {
    std::cerr << "error: expected one node number from 1 to 1000; " << usage << '\n';
    return 2;
  }
  try {
    polaris::install_program_logger(
        "clustering-registry", polaris::log_settings_from_env({.level = "info"})
    );
    auto registry = polaris::Registry::start({
        .bind = {.host = "127.0.0.1", .port = 4221 + node},
        .cluster =
            {.name = "polaris-cluster",
             .host = "127.0.0.1",
             .port = 5221 + node,
             // The cluster address (host:cluster-port), not the client port.
             .advertise = "127.0.0.1:" + std::to_string(5221 + node)},
        .routes = node > 1 ? std::vector<std::string>{"nats://127.0.0.1:5222"}
                           : std::vector<std::string>{},
    });
    std::cout << "registry " << node << " serving on " << registry.client_url() << std::endl;
    registry.run_until_shutdown();
  } catch (const polaris::Error& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
}
