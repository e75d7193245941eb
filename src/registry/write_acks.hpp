// Internal: which peers have applied a change this node made, so that the node acknowledges the
// change only once every live peer would answer with it (read-your-writes, see
// docs/ARCHITECTURE.md, "One catalogue").
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace polaris::detail {

/// Counts the confirmations of the replication events of each write this node made.
///
/// A write is replicated as one or more events (`parts`); each peer confirms each event once it
/// has applied it. The write is complete when every peer expected at its start confirmed every
/// part. Confirmations from other peers, for unknown writes, or repeated, are ignored.
///
/// Thread safety: all methods may be called from any thread.
class WriteAcks {
 public:
  /// Starts a write to be confirmed by `peers`, `parts` times each; returns its id (never 0).
  std::uint64_t begin(const std::vector<std::string>& peers, std::size_t parts);
  /// `peer` applied one part of `write`. True when that completed the write.
  bool confirm(std::uint64_t write, const std::string& peer);
  /// True when every expected peer confirmed every part (or the write is unknown).
  [[nodiscard]] bool complete(std::uint64_t write) const;
  /// The peers that have not yet confirmed every part of `write`.
  [[nodiscard]] std::vector<std::string> missing(std::uint64_t write) const;
  /// Forgets `write`.
  void end(std::uint64_t write);

 private:
  mutable std::mutex mutex_;
  std::uint64_t next_ = 1;
  /// Per write, per peer still expected, how many parts it has yet to confirm.
  std::map<std::uint64_t, std::map<std::string, std::size_t>> open_;
};

}  // namespace polaris::detail
