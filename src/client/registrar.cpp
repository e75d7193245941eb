#include "client/registrar.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <thread>

#include "client/payload_split.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire.hpp"
#include "transport/publish.hpp"

namespace polaris::detail {
namespace {

// A registry's {"success", "msg"} as the outcome of one registration.
RegistrationOutcome outcome_of(const wire::StatusReply& status) {
  if (status.success) return std::monostate{};
  return status.msg;
}

Error no_success(const std::string& what) {
  return Error(Errc::protocol, "the registry's reply to " + what + " has no boolean \"success\"");
}

}  // namespace

std::vector<RegistrationOutcome> Registrar::register_declarations(const Tools& tools) {
  using Clock = std::chrono::steady_clock;
  using std::chrono::milliseconds;
  const auto deadline = Clock::now() + settings_.registry_wait;
  std::vector<RegistrationOutcome> outcomes(tools.size());
  std::vector<std::size_t> todo(tools.size());
  std::iota(todo.begin(), todo.end(), std::size_t{0});
  milliseconds pause{50};
  bool told = false;
  for (;;) {
    std::vector<std::shared_ptr<ServedTool>> batch;
    batch.reserve(todo.size());
    for (const auto index : todo) batch.push_back(tools[index]);
    // Each attempt ends by the deadline (but gets a moment even at the end of the wait).
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    const auto results = register_once(
        batch, std::clamp(left, std::min(milliseconds{500}, settings_.request_timeout),
                          std::max(settings_.request_timeout, milliseconds{1})));
    std::vector<std::size_t> again;
    for (std::size_t k = 0; k < todo.size(); ++k) {
      outcomes[todo[k]] = results[k];
      const auto* error = std::get_if<Error>(&results[k]);
      // Nobody answered: no registry yet, or the one that had the request went away. A
      // registration the registry refused, or that was malformed, is final.
      if (error != nullptr &&
          (error->code() == Errc::no_registry || error->code() == Errc::timeout ||
           error->code() == Errc::connection_lost)) {
        again.push_back(todo[k]);
      }
    }
    const auto now = Clock::now();
    if (again.empty() || now >= deadline || closed_ || is_closed(connection_)) {
      break;
    }
    if (!told) {
      log_->warn("no registry answers yet; registering again for up to {} ms",
                 settings_.registry_wait.count());
      told = true;
    }
    // A back-off, not a synchronisation: nothing tells us when a registry subscribes.
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, milliseconds{500});
    todo = std::move(again);
  }
  if (settings_.registry_wait > milliseconds::zero()) {
    for (auto& outcome : outcomes) {
      if (auto* error = std::get_if<Error>(&outcome); error && error->code() == Errc::no_registry) {
        *error =
            Error(Errc::no_registry, std::string(error->what()) + " (tried for " +
                                         std::to_string(settings_.registry_wait.count()) + " ms)");
      }
    }
  }
  return outcomes;
}

std::vector<RegistrationOutcome> Registrar::register_once(const Tools& tools,
                                                          std::chrono::milliseconds timeout) {
  if (!registry_.user_subjects()) return register_shared(tools, timeout);
  try {
    return register_batch(tools, registry_.write_subject(wire::kUserRegisterVerb, {}), timeout);
  } catch (const Error& error) {
    if (error.code() != Errc::no_registry) throw;
    // A registry without the per-user subjects (older, or a Go registry: no roles either way).
    // Under roles the shared subjects are refused (permission_denied): nobody answered, then.
    auto outcomes = register_shared(tools, timeout);
    const bool answered =
        std::any_of(outcomes.begin(), outcomes.end(),
                    [](const RegistrationOutcome& o) { return !std::holds_alternative<Error>(o); });
    // Nobody answered either way: report the first failure, which register_declarations may
    // retry (no registry yet).
    if (!answered)
      return std::vector<RegistrationOutcome>(tools.size(), RegistrationOutcome{error});
    log_->debug("the registry answers on the shared subjects only; writing there from now on");
    registry_.use_shared_subjects();
    return outcomes;
  }
}

std::vector<RegistrationOutcome> Registrar::register_shared(const Tools& tools,
                                                            std::chrono::milliseconds timeout) {
  try {
    return register_batch(tools, std::string(wire::kBatchRegisterSubject), timeout);
  } catch (const Error& error) {
    // A registry without the batch subject (e.g. a Go registry): the reference's way.
    if (error.code() != Errc::no_registry) throw;
    log_->debug("no registry answers on {}; registering one by one", wire::kBatchRegisterSubject);
    return register_one_by_one(tools, timeout);
  }
}

std::vector<RegistrationOutcome> Registrar::register_batch(const Tools& tools,
                                                           const std::string& subject,
                                                           std::chrono::milliseconds timeout) {
  std::vector<std::string> texts;
  texts.reserve(tools.size());
  for (const auto& tool : tools) texts.push_back(tool->declaration.dump());
  const auto [open, close] = wire::BatchRegisterRequest::envelope();
  const auto split =
      split_bodies(texts, open, close, static_cast<std::size_t>(max_payload(connection_)));
  std::vector<RegistrationOutcome> outcomes(tools.size());
  for (const auto index : split.too_large) {
    outcomes[index] =
        Error(Errc::payload_too_large, "register: the declaration of " + tools[index]->tool.name +
                                           " exceeds the max payload");
  }
  for (std::size_t part = 0; part < split.bodies.size(); ++part) {
    const auto& members = split.members[part];
    Json reply;
    try {
      // Kept across a reconnect: a registration in flight when its node dies is sent again.
      reply = registry_.request(subject, split.bodies[part], {.timeout = timeout, .retry = true});
    } catch (const Error& error) {
      // Only the first request tells whether the registry has the subject at all.
      if (part == 0 && error.code() == Errc::no_registry) throw;
      for (const auto index : members) outcomes[index] = error;
      continue;
    }
    const auto batch = wire::BatchRegisterReply::from_json(reply);
    if (!batch) throw no_success(subject);
    std::map<std::string, RegistrationOutcome, std::less<>> by_name;
    for (const auto& result : batch->results) by_name[result.name] = outcome_of(result.status);
    for (const auto index : members) {
      const auto found = by_name.find(tools[index]->tool.name);
      outcomes[index] = found != by_name.end() ? found->second : outcome_of(batch->overall);
    }
  }
  return outcomes;
}

std::vector<RegistrationOutcome> Registrar::register_one_by_one(const Tools& tools,
                                                                std::chrono::milliseconds timeout) {
  // All at once: the registry answers each in turn; nobody waits for a round trip per tool.
  std::vector<std::future<std::string>> replies;
  replies.reserve(tools.size());
  for (const auto& tool : tools) {
    replies.push_back(registry_.send(wire::kRegisterSubject, tool->declaration.dump(),
                                     {.timeout = timeout, .retry = true}));
  }
  std::vector<RegistrationOutcome> outcomes(tools.size());
  for (std::size_t i = 0; i < tools.size(); ++i) {
    try {
      const auto status = wire::StatusReply::from_json(wire::parse_body(replies[i].get()));
      if (!status) throw no_success(std::string(wire::kRegisterSubject));
      outcomes[i] = outcome_of(*status);
    } catch (const Error& error) {
      outcomes[i] = error;
    }
  }
  return outcomes;
}

}  // namespace polaris::detail
