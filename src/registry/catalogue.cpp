#include "registry/catalogue.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <tuple>

#include "polaris/error.hpp"

namespace polaris::detail {
namespace {

using namespace std::chrono_literals;

/// How long a release is remembered, so that a late copy of the claim it ended is ignored.
constexpr auto kTombstoneLifetime = 60s;
/// At most one resync request per agent in this interval, from one node.
constexpr auto kResyncInterval = 2s;

const Json* polaris_field(const Json& declaration) {
  auto it = declaration.find("polaris");
  return it != declaration.end() && it->is_object() ? &*it : nullptr;
}

// 64-bit FNV-1a. Hand-written (five lines) because digests are compared between nodes, which
// may be different builds: std::hash is not stable across standard libraries.
std::uint64_t fnv1a(std::string_view bytes, std::uint64_t hash = 0xcbf29ce484222325ULL) {
  for (const char byte : bytes) {
    hash ^= static_cast<unsigned char>(byte);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// The declaration as lists show it: without what describes one owner (its id, its heartbeat).
Json without_agent(const Json& declaration) {
  Json copy = declaration;
  if (auto it = copy.find("polaris"); it != copy.end() && it->is_object()) {
    it->erase("agent");
    it->erase("heartbeat_ms");
  }
  return copy;
}

/// Replicas must serve the same thing: identical declarations apart from who serves them.
bool compatible(const Claim& a, const Claim& b) {
  return a.replicable && b.replicable &&
         without_agent(a.declaration) == without_agent(b.declaration);
}

}  // namespace

bool Claim::earlier_than(const Claim& other) const {
  return std::tie(stamp, agent, origin) < std::tie(other.stamp, other.agent, other.origin);
}

CheckedName check_declaration(const Json& declaration) {
  if (!declaration.is_object()) return {"", "the declaration is not a JSON object"};
  auto name = declaration.find("name");
  if (name == declaration.end() || !name->is_string()) {
    return {"", "the declaration has no string \"name\""};
  }
  const auto& text = name->get_ref<const std::string&>();
  if (text.empty()) return {"", "the tool name is empty"};
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '*' || c == '>') {
      return {text, "the tool name '" + text + "' contains white space or a wildcard"};
    }
  }
  return {text, ""};
}

ParsedClaim parse_claim(const Json& declaration) {
  CheckedName checked = check_declaration(declaration);
  if (!checked.problem.empty()) return {std::nullopt, checked.problem};
  Claim claim{.name = std::move(checked.name), .declaration = declaration};
  if (const Json* field = polaris_field(declaration)) {
    if (auto agent = field->find("agent"); agent != field->end()) {
      if (!agent->is_string()) return {std::nullopt, "polaris.agent must be a string"};
      claim.agent = agent->get<std::string>();
    }
    if (auto replicable = field->find("replicable"); replicable != field->end()) {
      claim.replicable = replicable->is_boolean() && replicable->get<bool>();
    }
    if (auto heartbeat = field->find("heartbeat_ms"); heartbeat != field->end()) {
      claim.heartbeats = heartbeat->is_number() && heartbeat->get<double>() > 0;
    }
  }
  if (claim.replicable && claim.agent.empty()) {
    return {std::nullopt, "a replicable tool needs polaris.agent"};
  }
  return {std::move(claim), ""};
}

Json to_json(const Claim& claim) {
  return Json{{"name", claim.name},
              {"agent", claim.agent},
              {"declaration", claim.declaration},
              {"replicable", claim.replicable},
              {"stamp", claim.stamp},
              {"origin", claim.origin}};
}

Claim claim_from_json(const Json& json) {
  Claim claim{.name = json.at("name").get<std::string>(),
              .agent = json.at("agent").get<std::string>(),
              .declaration = json.at("declaration"),
              .replicable = json.at("replicable").get<bool>(),
              .stamp = json.at("stamp").get<Stamp>(),
              .origin = json.at("origin").get<std::string>()};
  ParsedClaim parsed = parse_claim(claim.declaration);
  if (!parsed.claim) throw Error(Errc::protocol, "a claim carries an unusable declaration");
  claim.heartbeats = parsed.claim->heartbeats;
  return claim;
}

Catalogue::Outcome Catalogue::claim(const Claim& claim, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  gone_recently_.erase(claim.agent);
  return apply_claim(claim, now + options_.keepalive_deadline, now, false);
}

Catalogue::Outcome Catalogue::apply_claim(const Claim& claim, Clock::time_point deadline,
                                          Clock::time_point now, bool from_keepalive) {
  const std::string& name = claim.name;
  if (auto tomb = tombstones_.find({name, claim.agent});
      tomb != tombstones_.end() && tomb->second.stamp >= claim.stamp) {
    return {false, "register: " + name + " was unregistered after this registration", {}};
  }
  touch_agent(claim, now);
  auto it = tools_.find(name);
  if (it == tools_.end()) {
    it = tools_.emplace(name, Entry{}).first;
    it->second.owners.push_back({claim, deadline});
    if (!claim.agent.empty()) names_by_agent_[claim.agent].insert(name);
    relist(it->second);
    return {true, "OK", {}};
  }
  auto& owners = it->second.owners;
  auto same = std::find_if(owners.begin(), owners.end(),
                           [&](const Owner& owner) { return owner.claim.agent == claim.agent; });
  if (same != owners.end()) return renew_owner(it->second, *same, claim, deadline, from_keepalive);
  return contest(it->second, claim, deadline);
}

// The owner again: a keepalive, a polaris agent re-sending after a resync, or (reference
// semantics) a second registration of a known name.
Catalogue::Outcome Catalogue::renew_owner(Entry& entry, Owner& same, const Claim& claim,
                                          Clock::time_point deadline, bool from_keepalive) {
  const std::string& name = claim.name;
  if (!from_keepalive && claim.agent.empty() && !options_.allow_overwrite) {
    return {false, "register: " + name + " already registered", {}};
  }
  same.deadline = std::max(same.deadline, deadline);
  // The earliest stamp of the owner stays, on every node whatever the order (so that digests
  // agree): a keepalive that re-added the name on one node stamped it anew there.
  const Claim earliest = claim.earlier_than(same.claim) ? claim : same.claim;
  if (!from_keepalive && same.claim.declaration != claim.declaration) {
    same.claim = claim;
    relist(entry);
  }
  same.claim.stamp = earliest.stamp;
  same.claim.origin = earliest.origin;
  return {true, "OK", {}};
}

// Another agent's claim on a held name: a replica joins, an earlier claim takes over (revoking
// the owners), a later one is refused.
Catalogue::Outcome Catalogue::contest(Entry& entry, const Claim& claim,
                                      Clock::time_point deadline) {
  const std::string& name = claim.name;
  auto& owners = entry.owners;
  const Claim& winner = owners.front().claim;
  if (compatible(claim, winner)) {
    auto position = std::find_if(owners.begin(), owners.end(), [&](const Owner& owner) {
      return claim.earlier_than(owner.claim);
    });
    owners.insert(position, Owner{claim, deadline});
    names_by_agent_[claim.agent].insert(name);
    relist(entry);
    return {true, "OK", {}};
  }
  const bool takes_over =
      options_.allow_overwrite ? winner.earlier_than(claim) : claim.earlier_than(winner);
  if (!takes_over) {
    const bool different = claim.replicable && winner.replicable;
    return {false,
            "register: " + name + " already registered" +
                (different ? " with a different declaration" : ""),
            {}};
  }
  Outcome outcome{true, "OK", {}};
  for (const Owner& owner : owners) {
    if (!owner.claim.agent.empty()) {
      outcome.revoked.push_back({name, owner.claim.agent,
                                 "register: " + name + " was registered by another agent first"});
    }
  }
  for (const Owner& owner : owners) {
    auto names = names_by_agent_.find(owner.claim.agent);
    if (names == names_by_agent_.end()) continue;
    names->second.erase(name);
    if (names->second.empty()) names_by_agent_.erase(names);
  }
  owners.assign(1, Owner{claim, deadline});
  if (!claim.agent.empty()) names_by_agent_[claim.agent].insert(name);
  relist(entry);
  return outcome;
}

std::vector<Catalogue::Revocation> Catalogue::keepalive(const std::vector<Claim>& claims,
                                                        Clock::time_point now) {
  std::vector<Revocation> revoked;
  std::lock_guard lock(mutex_);
  for (const Claim& claim : claims) {
    gone_recently_.erase(claim.agent);
    Outcome outcome = apply_claim(claim, now + options_.keepalive_deadline, now, true);
    if (!outcome.success && !claim.agent.empty()) {
      revoked.push_back({claim.name, claim.agent, outcome.message});
    }
    for (auto& revocation : outcome.revoked) revoked.push_back(std::move(revocation));
  }
  return revoked;
}

Catalogue::Outcome Catalogue::release(const std::string& name, const std::string& agent,
                                      Stamp stamp, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (apply_release(name, agent, stamp, now)) return {true, "OK", {}};
  return {false, "unregister: " + name + " not found", {}};
}

bool Catalogue::apply_release(const std::string& name, const std::string& agent, Stamp stamp,
                              Clock::time_point now) {
  auto& tomb = tombstones_[{name, agent}];
  tomb.stamp = std::max(tomb.stamp, stamp);
  tomb.expires = now + kTombstoneLifetime;
  auto it = tools_.find(name);
  if (it == tools_.end()) return false;
  auto& owners = it->second.owners;
  for (std::size_t i = 0; i < owners.size(); ++i) {
    if (owners[i].claim.agent == agent && owners[i].claim.stamp < stamp) {
      remove_owner(it, i);
      return true;
    }
  }
  return false;
}

bool Catalogue::owns(const std::string& name, const std::string& agent) const {
  std::lock_guard lock(mutex_);
  auto it = tools_.find(name);
  if (it == tools_.end()) return false;
  return std::any_of(it->second.owners.begin(), it->second.owners.end(),
                     [&](const Owner& owner) { return owner.claim.agent == agent; });
}

bool Catalogue::holds(const Claim& claim) const {
  if (!claim.agent.empty() || options_.allow_overwrite) return owns(claim.name, claim.agent);
  std::lock_guard lock(mutex_);
  auto it = tools_.find(claim.name);
  if (it == tools_.end()) return false;
  return std::any_of(it->second.owners.begin(), it->second.owners.end(), [&](const Owner& owner) {
    return owner.claim.agent.empty() && owner.claim.stamp == claim.stamp &&
           owner.claim.origin == claim.origin;
  });
}

void Catalogue::remove_owner(std::map<std::string, Entry>::iterator entry, std::size_t index) {
  drop_owner(entry->first, entry->second, index);
  if (entry->second.owners.empty()) {
    tools_.erase(entry);
  } else {
    relist(entry->second);
  }
}

void Catalogue::drop_owner(const std::string& name, Entry& entry, std::size_t index) {
  auto& owners = entry.owners;
  const std::string agent = owners[index].claim.agent;
  owners.erase(owners.begin() + static_cast<std::ptrdiff_t>(index));
  if (agent.empty()) return;
  auto names = names_by_agent_.find(agent);
  if (names != names_by_agent_.end()) {
    names->second.erase(name);
    if (names->second.empty()) names_by_agent_.erase(names);
  }
}

void Catalogue::relist(Entry& entry) const {
  Json listed = without_agent(entry.owners.front().claim.declaration);
  if (auto it = listed.find("polaris"); it != listed.end() && it->is_object()) {
    (*it)["replicas"] = entry.owners.size();
  }
  entry.listed = listed.dump();
}

void Catalogue::touch_agent(const Claim& claim, Clock::time_point now) {
  if (claim.agent.empty()) return;
  auto& record = agents_[claim.agent];
  record.last_heard = std::max(record.last_heard, now);
  record.heartbeating = record.heartbeating || claim.heartbeats;
}

bool Catalogue::heartbeat(const std::string& agent, std::size_t tools, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  gone_recently_.erase(agent);
  auto& record = agents_[agent];
  record.last_heard = now;
  record.heartbeating = true;
  record.reported_tools = tools;
  auto names = names_by_agent_.find(agent);
  const std::size_t held = names == names_by_agent_.end() ? 0 : names->second.size();
  if (held >= tools) return false;
  if (record.last_resync && now - *record.last_resync < kResyncInterval) return false;
  record.last_resync = now;
  return true;
}

bool Catalogue::depart(const std::string& agent) {
  std::lock_guard lock(mutex_);
  auto record = agents_.find(agent);
  if (record == agents_.end() && names_by_agent_.count(agent) == 0) return false;
  auto& departing = agents_[agent];
  departing.departed = true;
  departing.heartbeating = true;  // so that its callers hear it is gone
  return true;
}

Catalogue::SweepResult Catalogue::sweep(Clock::time_point now) {
  SweepResult result;
  std::lock_guard lock(mutex_);
  std::set<std::string> touched;
  sweep_agents(now, result, touched);
  sweep_deadlines(now, touched);
  for (const auto& name : touched) {
    if (tools_.count(name) == 0) result.expired.push_back(name);
  }
  std::erase_if(tombstones_, [&](const auto& item) { return item.second.expires <= now; });
  std::erase_if(gone_recently_, [&](const auto& item) { return item.second <= now; });
  return result;
}

void Catalogue::sweep_agents(Clock::time_point now, SweepResult& result,
                             std::set<std::string>& touched) {
  for (auto agent = agents_.begin(); agent != agents_.end();) {
    const bool departed = agent->second.departed;
    if (!departed && now - agent->second.last_heard <= options_.agent_timeout) {
      ++agent;
      continue;
    }
    const bool held_names = names_by_agent_.count(agent->first) > 0;
    if (!departed && !agent->second.heartbeating && held_names) {
      ++agent;  // a polaris agent without heartbeats lives by its keepalive deadline
      continue;
    }
    GoneAgent gone{.agent = agent->first, .departed = departed};
    if (held_names) remove_agent_tools(agent->first, gone, touched);
    if (agent->second.heartbeating) result.gone_agents.push_back(std::move(gone));
    gone_recently_[agent->first] = now + kTombstoneLifetime;
    agent = agents_.erase(agent);
  }
}

void Catalogue::remove_agent_tools(const std::string& agent, GoneAgent& gone,
                                   std::set<std::string>& touched) {
  const std::set<std::string> names = names_by_agent_[agent];
  for (const auto& name : names) {
    auto entry = tools_.find(name);
    auto& owners = entry->second.owners;
    for (std::size_t i = 0; i < owners.size(); ++i) {
      if (owners[i].claim.agent == agent) {
        const Json* field = polaris_field(owners[i].claim.declaration);
        const auto idempotent =
            field != nullptr ? field->find("idempotent") : Json::const_iterator{};
        gone.tools.push_back({{"name", name},
                              {"idempotent", field != nullptr && idempotent != field->end() &&
                                                 *idempotent == true}});
        touched.insert(name);
        remove_owner(entry, i);
        break;
      }
    }
  }
}

void Catalogue::sweep_deadlines(Clock::time_point now, std::set<std::string>& touched) {
  for (auto entry = tools_.begin(); entry != tools_.end();) {
    auto& owners = entry->second.owners;
    const std::size_t before = owners.size();
    for (std::size_t i = owners.size(); i-- > 0;) {
      if (owners[i].deadline <= now) drop_owner(entry->first, entry->second, i);
    }
    if (owners.empty()) {
      touched.insert(entry->first);
      entry = tools_.erase(entry);
    } else {
      if (owners.size() != before) relist(entry->second);
      ++entry;
    }
  }
}

std::string Catalogue::list_json(const Visible& visible) const {
  std::lock_guard lock(mutex_);
  std::string out = "[";
  for (const auto& [name, entry] : tools_) {
    if (visible && !visible(name)) continue;
    if (out.size() > 1) out += ',';
    out += entry.listed;
  }
  out += ']';
  return out;
}

std::string Catalogue::page_json(const std::string& after, std::size_t limit, std::size_t max_bytes,
                                 const Visible& visible) const {
  std::lock_guard lock(mutex_);
  std::string tools;
  std::size_t count = 0;
  auto it = after.empty() ? tools_.begin() : tools_.upper_bound(after);
  std::string last;
  // The wrapper and the "next" name stay below this many bytes of JSON.
  const std::size_t reserve = 256;
  for (; it != tools_.end() && count < limit; ++it) {
    if (visible && !visible(it->first)) continue;
    if (count > 0 && tools.size() + it->second.listed.size() + reserve > max_bytes) break;
    if (count > 0) tools += ',';
    tools += it->second.listed;
    last = it->first;
    ++count;
  }
  std::string out = "{\"tools\":[" + tools + "]";
  if (it != tools_.end()) out += ",\"next\":" + Json(last).dump();
  out += '}';
  return out;
}

Json Catalogue::snapshot_page(const std::string& after, std::size_t max_bytes,
                              Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  Json page{{"owners", Json::array()}};
  if (after.empty()) {
    Json agents = Json::array();
    for (const auto& [id, record] : agents_) {
      agents.push_back({{"agent", id}, {"heartbeating", record.heartbeating}});
    }
    Json tombstones = Json::array();
    for (const auto& [key, tomb] : tombstones_) {
      tombstones.push_back({{"name", key.first}, {"agent", key.second}, {"stamp", tomb.stamp}});
    }
    page["agents"] = std::move(agents);
    page["tombstones"] = std::move(tombstones);
  }
  std::size_t bytes = page.dump().size();
  auto it = after.empty() ? tools_.begin() : tools_.upper_bound(after);
  for (; it != tools_.end(); ++it) {
    Json owners = Json::array();
    for (const Owner& owner : it->second.owners) {
      Json item = to_json(owner.claim);
      item["deadline_ms"] =
          std::chrono::duration_cast<std::chrono::milliseconds>(owner.deadline - now).count();
      owners.push_back(std::move(item));
    }
    const std::size_t size = owners.dump().size();
    if (!page["owners"].empty() && bytes + size > max_bytes) break;
    bytes += size;
    for (auto& item : owners) page["owners"].push_back(std::move(item));
    page["next"] = it->first;
  }
  if (it == tools_.end()) page.erase("next");
  return page;
}

Stamp Catalogue::load_snapshot_page(const Json& page, Clock::time_point now) {
  Stamp highest = 0;
  std::lock_guard lock(mutex_);
  // An agent this node found gone is not brought back by a peer that has not noticed yet; if it
  // is alive after all, its next heartbeat brings it back.
  const auto gone = [&](const std::string& agent) {
    const auto it = gone_recently_.find(agent);
    return it != gone_recently_.end() && it->second > now;
  };
  for (const auto& item : page.value("agents", Json::array())) {
    const std::string agent = item.at("agent").get<std::string>();
    if (gone(agent)) continue;
    const auto [record, added] = agents_.try_emplace(agent);
    if (added) record->second.last_heard = now;
    record->second.heartbeating = record->second.heartbeating || item.value("heartbeating", false);
  }
  for (const auto& item : page.value("tombstones", Json::array())) {
    const std::string name = item.at("name").get<std::string>();
    const std::string agent = item.at("agent").get<std::string>();
    const Stamp stamp = item.at("stamp").get<Stamp>();
    apply_release(name, agent, stamp, now);  // perhaps one this node missed
    highest = std::max(highest, stamp);
  }
  for (const auto& item : page.at("owners")) {
    const Claim claim = claim_from_json(item);
    if (gone(claim.agent)) continue;
    const auto deadline = now + std::chrono::milliseconds(item.value("deadline_ms", 0));
    // A peer's copy says nothing of when the agent was last heard: what this node heard stands.
    const auto known = agents_.find(claim.agent);
    const auto heard = known != agents_.end() ? std::optional(known->second.last_heard)
                                              : std::optional<Clock::time_point>();
    apply_claim(claim, deadline, now, false);
    if (heard) agents_[claim.agent].last_heard = *heard;
    highest = std::max(highest, claim.stamp);
  }
  return highest;
}

Catalogue::Digest Catalogue::digest() const {
  Digest digest;
  std::lock_guard lock(mutex_);
  for (const auto& [name, entry] : tools_) {
    for (const Owner& owner : entry.owners) {
      std::uint64_t hash = fnv1a(name);
      hash = fnv1a(std::string_view("\0", 1), hash);
      hash = fnv1a(owner.claim.agent, hash);
      hash = fnv1a(std::string_view("\0", 1), hash);
      hash = fnv1a(std::to_string(owner.claim.stamp), hash);
      // XOR: the same set gives the same digest whatever the order it was built in.
      digest.hash ^= hash;
      ++digest.owners;
    }
  }
  return digest;
}

std::size_t Catalogue::size() const {
  std::lock_guard lock(mutex_);
  return tools_.size();
}

std::size_t Catalogue::agent_count() const {
  std::lock_guard lock(mutex_);
  return names_by_agent_.size();
}

Stamp StampClock::next() {
  const auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  std::lock_guard lock(mutex_);
  last_ = std::max(last_ + 1, static_cast<Stamp>(wall));
  return last_;
}

void StampClock::observe(Stamp seen) {
  std::lock_guard lock(mutex_);
  last_ = std::max(last_, seen);
}

}  // namespace polaris::detail
