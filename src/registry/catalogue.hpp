// Internal: one registry node's tool catalogue (the reference's semantics).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "polaris/json.hpp"

namespace polaris::detail {

/// The tools one node knows, each with the deadline by which a keepalive must refresh it.
/// Thread safety: all methods may be called from any thread.
class Catalogue {
 public:
  using Clock = std::chrono::steady_clock;

  struct Outcome {
    bool success;
    std::string message;  ///< "OK" on success
  };

  Catalogue(bool allow_overwrite, std::chrono::milliseconds keepalive_deadline)
      : allow_overwrite_(allow_overwrite), deadline_(keepalive_deadline) {}

  /// Adds one declaration; refuses a known name unless overwriting is allowed.
  Outcome add(const Json& declaration, Clock::time_point now);
  /// Removes the tool named in `declaration`.
  Outcome remove(const Json& declaration);
  /// Refreshes (or re-adds) every declaration of the array.
  Outcome keepalive(const Json& declarations, Clock::time_point now);
  /// Every declaration, sorted by name.
  [[nodiscard]] Json list() const;
  /// Removes tools whose deadline has passed; returns their names.
  std::vector<std::string> sweep(Clock::time_point now);
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    Json declaration;
    Clock::time_point deadline;
  };

  bool allow_overwrite_;
  std::chrono::milliseconds deadline_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> tools_;
};

/// The name of a declaration when it is usable as a tool, else an explanation (no name, not a
/// string, or characters a NATS subject cannot carry).
struct CheckedName {
  std::string name;
  std::string problem;  ///< empty when the name is usable
};
CheckedName check_declaration(const Json& declaration);

}  // namespace polaris::detail
