// Internal: sending a connection's tool declarations to the registry.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "client/registry_channel.hpp"
#include "client/served_tool.hpp"
#include "common/log.hpp"
#include "polaris/error.hpp"

namespace polaris::detail {

/// How one registration ended: accepted, refused (the registry's message), or failed.
using RegistrationOutcome = std::variant<std::monostate, std::string, Error>;

/// Registers declarations: on the user's own subject, else the shared batch subject, else (a Go
/// registry) one reference registration per tool; split to fit the max payload; sent again
/// while no registry answers, until ConnectOptions::registry_wait.
///
/// Thread safety: register_declarations() may be called from any thread (it holds no state of
/// its own beyond the RegistryChannel's).
class Registrar {
 public:
  struct Settings {
    std::chrono::milliseconds request_timeout{};
    std::chrono::milliseconds registry_wait{};
  };
  Registrar(RegistryChannel& registry, natsConnection* connection, Settings settings, Logger log,
            const std::atomic<bool>& closed)
      : registry_(registry),
        connection_(connection),
        settings_(settings),
        log_(std::move(log)),
        closed_(closed) {}

  /// One outcome per tool, in order.
  std::vector<RegistrationOutcome> register_declarations(
      const std::vector<std::shared_ptr<ServedTool>>& tools);

 private:
  using Tools = std::vector<std::shared_ptr<ServedTool>>;
  std::vector<RegistrationOutcome> register_once(const Tools& tools,
                                                 std::chrono::milliseconds timeout);
  std::vector<RegistrationOutcome> register_shared(const Tools& tools,
                                                   std::chrono::milliseconds timeout);
  std::vector<RegistrationOutcome> register_batch(const Tools& tools, const std::string& subject,
                                                  std::chrono::milliseconds timeout);
  std::vector<RegistrationOutcome> register_one_by_one(const Tools& tools,
                                                       std::chrono::milliseconds timeout);

  RegistryChannel& registry_;
  natsConnection* connection_;
  const Settings settings_;
  const Logger log_;
  const std::atomic<bool>& closed_;
};

}  // namespace polaris::detail
