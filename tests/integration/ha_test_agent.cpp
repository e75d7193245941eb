// A polaris agent in its own process, for tests that kill agents: serves one tool and reports on
// stdout ("ready <agent id>" once registered, "started <n>" when the n-th call starts).
//
// usage: ha_test_agent URL TOOL [--replicable] [--idempotent] [--block] [--allow-overwrite]
//   --block: the handler never returns (the test kills the process mid-call).
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "polaris/polaris.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: ha_test_agent URL TOOL [--replicable] [--idempotent] [--block]\n";
    return 2;
  }
  bool replicable = false;
  bool idempotent = false;
  bool block = false;
  for (int i = 3; i < argc; ++i) {
    const std::string flag = argv[i];
    replicable = replicable || flag == "--replicable";
    idempotent = idempotent || flag == "--idempotent";
    block = block || flag == "--block";
  }
  try {
    auto connection = polaris::connect({.servers = {argv[1]}});
    std::mutex output;
    int calls = 0;
    connection.register_tool({.name = argv[2],
                              .handler = [&](const polaris::Request&) -> polaris::Result {
                                {
                                  std::lock_guard lock(output);
                                  std::cout << "started " << ++calls << std::endl;
                                }
                                while (block) std::this_thread::sleep_for(std::chrono::seconds(1));
                                return {{"agent", connection.agent_id()}};
                              },
                              .replicable = replicable,
                              .idempotent = idempotent});
    {
      std::lock_guard lock(output);
      std::cout << "ready " << connection.agent_id() << std::endl;
    }
    polaris::wait_for_shutdown();
  } catch (const std::exception& error) {
    std::cerr << "ha_test_agent: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
