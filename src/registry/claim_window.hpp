// Internal: the answers a registry node holds back: a registration is answered once its claim
// window has passed (no concurrent claim on another node can still beat it) and every live peer
// confirmed it applied the change (read-your-writes, docs/ARCHITECTURE.md "One catalogue").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <optional>
#include "client/timer.hpp"

#include "polaris/json.hpp"
#include "polaris/logging.hpp"
#include "protocol/messages.hpp"
#include "registry/catalogue.hpp"
#include "registry/write_acks.hpp"

namespace polaris::detail {

/// A change answered once its claim window has passed (registrations) and every live peer
/// confirmed it applied the change, or at `give_up`.
struct PendingReply {
  using Clock = std::chrono::steady_clock;
  Clock::time_point due;
  std::string reply_subject;
  /// Accepted claims still to confirm, each with its index in `results`.
  std::vector<std::pair<std::size_t, Claim>> open;
  /// Per tool, in request order; nullopt until decided.
  std::vector<std::optional<wire::RegisterResult>> results;
  bool batch = false;         ///< polaris.registry.register (else the reference subject)
  std::uint64_t write = 0;    ///< the replication to wait for (WriteAcks); 0: none
  Clock::time_point give_up;  ///< answer by then even if peers have not confirmed
  std::string fixed;          ///< the reply, when it does not depend on the claim window
};

/// Holds replies until they may be given, on `timer`'s thread.
///
/// Thread safety: all methods may be called from any thread.
class ClaimWindow {
 public:
  using Clock = std::chrono::steady_clock;
  using Publish = std::function<void(const std::string& subject, const std::string& body)>;

  ClaimWindow(const Catalogue& catalogue, Timer& timer, Publish publish,
              std::chrono::milliseconds replication_timeout, Logger log);
  ClaimWindow(const ClaimWindow&) = delete;
  ClaimWindow& operator=(const ClaimWindow&) = delete;

  /// Starts a write whose `parts` replication events each of `peers` must confirm; returns its
  /// id (never 0).
  std::uint64_t begin_write(const std::vector<std::string>& peers, std::size_t parts);
  /// `node` confirmed one part of `write`: answers what that completed.
  void confirm(std::uint64_t write, const std::string& node);

  /// Answers at once when nothing is to wait for, else once it may (or at give_up).
  void answer_when_replicated(PendingReply pending, Clock::time_point now);

 private:
  void answer_due();
  void answer(PendingReply& pending);
  void answer_registration(PendingReply& pending);

  const Catalogue& catalogue_;
  Timer& timer_;
  Publish publish_;
  std::chrono::milliseconds replication_timeout_;
  Logger log_;
  WriteAcks acks_;
  std::mutex mutex_;
  std::vector<PendingReply> pending_;  // guarded by mutex_
};

}  // namespace polaris::detail
