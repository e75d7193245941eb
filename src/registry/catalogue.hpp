// Internal: the tool catalogue every registry node holds, replicated by applying the same claims
// and releases in any order (see docs/ARCHITECTURE.md, "One catalogue").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "polaris/json.hpp"

namespace polaris::detail {

/// Orders claims cluster-wide: nanoseconds of wall clock made unique per node (see StampClock).
using Stamp = std::uint64_t;

/// One agent's registration of one tool name.
struct Claim {
  std::string name;
  std::string agent;  ///< "" for a reference agent (its declarations carry no polaris.agent)
  Json declaration;   ///< as registered (with its polaris field)
  bool replicable = false;
  bool heartbeats = false;  ///< the agent declared heartbeats (polaris.heartbeat_ms)
  Stamp stamp = 0;
  std::string origin;  ///< the node that stamped the claim; breaks ties between equal stamps

  /// Earlier claims win. Every node compares the same fields, so every node picks one winner.
  [[nodiscard]] bool earlier_than(const Claim& other) const;
};

/// A declaration turned into an unstamped claim, or the reason it cannot be one.
struct ParsedClaim {
  std::optional<Claim> claim;
  std::string problem;  ///< empty when `claim` is set
};
ParsedClaim parse_claim(const Json& declaration);

/// A claim as nodes exchange it (replication events and snapshots).
Json to_json(const Claim& claim);
/// @throws Json::exception or Error(Errc::protocol) when `json` is not a claim.
Claim claim_from_json(const Json& json);

/// The name of a declaration when it is usable as a tool, else an explanation (no name, not a
/// string, or characters a NATS subject cannot carry).
struct CheckedName {
  std::string name;
  std::string problem;  ///< empty when the name is usable
};
CheckedName check_declaration(const Json& declaration);

struct CatalogueOptions {
  bool allow_overwrite = false;  ///< a newer registration replaces the owner (reference option)
  std::chrono::milliseconds keepalive_deadline{std::chrono::minutes(10)};
  std::chrono::milliseconds agent_timeout{2500};  ///< heartbeat silence that makes an agent gone
};

/// The tools of the cluster, as one node knows them.
///
/// Each name has one owner, or several when every owner declared it replicable with identical
/// declarations. When claims conflict the earliest wins on every node, whatever order the nodes
/// learn of them in; a release leaves a tombstone so that a late copy of an older claim does not
/// bring a tool back. Agents that send heartbeats are declared gone after `agent_timeout` of
/// silence; other entries (reference agents) live until their keepalive deadline.
///
/// Thread safety: all methods may be called from any thread.
class Catalogue {
 public:
  using Clock = std::chrono::steady_clock;

  /// An owner that lost its name to an earlier claim and must be told.
  struct Revocation {
    std::string name;
    std::string agent;
    std::string message;
  };
  struct Outcome {
    bool success = false;
    std::string message;  ///< "OK" on success
    std::vector<Revocation> revoked;
  };

  explicit Catalogue(CatalogueOptions options) : options_(options) {}

  /// Applies a registration.
  Outcome claim(const Claim& claim, Clock::time_point now);
  /// Applies a keepalive: refreshes the owners it names and claims the names it does not know.
  /// Returns the owners revoked and the polaris agents whose re-added claim lost.
  std::vector<Revocation> keepalive(const std::vector<Claim>& claims, Clock::time_point now);
  /// Removes `agent`'s ownership of `name` (an agent-less release removes a reference owner).
  Outcome release(const std::string& name, const std::string& agent, Stamp stamp,
                  Clock::time_point now);
  [[nodiscard]] bool owns(const std::string& name, const std::string& agent) const;
  /// Whether `claim` itself made its agent an owner of its name: for a reference agent (no
  /// agent id) an earlier registration of the same name is another claim, so that a duplicate
  /// registration answered on another node is refused once the first one arrives.
  [[nodiscard]] bool holds(const Claim& claim) const;

  /// Records a heartbeat. True when this node holds fewer tools of the agent than it serves and
  /// has not asked it to re-send them lately.
  bool heartbeat(const std::string& agent, std::size_t tools, Clock::time_point now);

  /// The agent is closing (polaris.registry.agent.leave): the next sweep removes it and all its
  /// tools at once, as if it had gone silent. False when this node does not know the agent.
  bool depart(const std::string& agent);

  struct GoneAgent {
    std::string agent;
    Json tools = Json::array();  ///< [{"name", "idempotent"}] of the tools it served
    bool departed = false;       ///< it said so (depart), rather than falling silent
  };
  struct SweepResult {
    std::vector<std::string> expired;    ///< names whose last owner's deadline passed
    std::vector<GoneAgent> gone_agents;  ///< agents silent for longer than agent_timeout
  };
  SweepResult sweep(Clock::time_point now);

  /// Which names a requester may see; empty: every name.
  using Visible = std::function<bool(const std::string& name)>;
  /// The reference list reply: every (visible) name once, sorted, as a JSON array text.
  [[nodiscard]] std::string list_json(const Visible& visible = {}) const;
  /// One page of the polaris list: at most `limit` visible names after `after`, at most
  /// `max_bytes`.
  [[nodiscard]] std::string page_json(const std::string& after, std::size_t limit,
                                      std::size_t max_bytes, const Visible& visible = {}) const;

  /// A page of this node's full state for a node that is starting (names after `after`, at most
  /// about `max_bytes`); the first page also carries agents and tombstones.
  [[nodiscard]] Json snapshot_page(const std::string& after, std::size_t max_bytes,
                                   Clock::time_point now) const;
  /// Applies a snapshot page: at start-up into an empty catalogue, or later to merge a peer's
  /// catalogue into this one (its claims are claimed, its tombstones release what they ended;
  /// agents this node knows keep their own liveness). Returns the highest stamp seen.
  Stamp load_snapshot_page(const Json& page, Clock::time_point now);

  /// What two nodes compare to find out, cheaply, whether their catalogues differ: the number of
  /// owners and an order-independent hash of every owner's (name, agent, stamp). Nodes that
  /// applied the same claims and releases, in any order, have the same digest.
  struct Digest {
    std::size_t owners = 0;
    std::uint64_t hash = 0;
    friend bool operator==(const Digest&, const Digest&) = default;
  };
  [[nodiscard]] Digest digest() const;

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::size_t agent_count() const;

 private:
  struct Owner {
    Claim claim;
    Clock::time_point deadline;
  };
  struct Entry {
    std::vector<Owner> owners;  ///< sorted, earliest claim first
    std::string listed;         ///< the declaration as lists show it (JSON text)
  };
  struct Agent {
    Clock::time_point last_heard;
    bool heartbeating = false;
    bool departed = false;
    std::size_t reported_tools = 0;
    std::optional<Clock::time_point> last_resync;
  };
  using OwnerKey = std::pair<std::string, std::string>;  // name, agent
  struct Tombstone {
    Stamp stamp;
    Clock::time_point expires;
  };

  Outcome apply_claim(const Claim& claim, Clock::time_point deadline, Clock::time_point now,
                      bool from_keepalive);
  /// The two cases of apply_claim() for a held name: its owner claims it again; another agent
  /// claims it. Require mutex_.
  Outcome renew_owner(Entry& entry, Owner& same, const Claim& claim, Clock::time_point deadline,
                      bool from_keepalive);
  Outcome contest(Entry& entry, const Claim& claim, Clock::time_point deadline);
  /// Removes owner `index` of `entry` and the entry itself once it has no owner left (else
  /// relists it). Requires mutex_.
  void remove_owner(std::map<std::string, Entry>::iterator entry, std::size_t index);
  /// Removes owner `index` of the entry for `name` and its agent's index of names; the entry
  /// stays (the caller relists or erases it). Requires mutex_.
  void drop_owner(const std::string& name, Entry& entry, std::size_t index);
  /// The two halves of sweep(). Require mutex_.
  void sweep_agents(Clock::time_point now, SweepResult& result, std::set<std::string>& touched);
  void remove_agent_tools(const std::string& agent, GoneAgent& gone,
                          std::set<std::string>& touched);
  void sweep_deadlines(Clock::time_point now, std::set<std::string>& touched);
  /// Records the release of `agent`'s `name` at `stamp` (a tombstone) and removes that owner if
  /// its claim is older. Requires mutex_. True when an owner was removed.
  bool apply_release(const std::string& name, const std::string& agent, Stamp stamp,
                     Clock::time_point now);
  void relist(Entry& entry) const;
  void touch_agent(const Claim& claim, Clock::time_point now);

  CatalogueOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> tools_;
  std::map<std::string, std::set<std::string>> names_by_agent_;
  std::map<std::string, Agent> agents_;
  std::map<OwnerKey, Tombstone> tombstones_;
  /// Agents the sweep removed, until when snapshot merges ignore them (kTombstoneLifetime);
  /// forgotten as soon as the agent shows it is alive.
  std::map<std::string, Clock::time_point> gone_recently_;
};

/// Makes stamps: wall-clock nanoseconds, strictly increasing on this node and never below a
/// stamp seen from another node (a Lamport clock over wall time, so that stamps from nodes with
/// close clocks order roughly by real time).
/// Thread safety: all methods may be called from any thread.
class StampClock {
 public:
  Stamp next();
  void observe(Stamp seen);

 private:
  std::mutex mutex_;
  Stamp last_ = 0;
};

}  // namespace polaris::detail
