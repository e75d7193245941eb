// The replicated catalogue: reference semantics, races decided the same way on every node
// whatever the arrival order, replicas, tombstones, liveness, pages and snapshots.
#include "registry/catalogue.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace polaris::detail {
namespace {

using namespace std::chrono_literals;
const auto t0 = Catalogue::Clock::time_point{} + 1h;

Json declaration(const std::string& name, const std::string& description = "") {
  return {{"name", name}, {"description", description}};
}

Json polaris_declaration(const std::string& name, const std::string& agent, bool replicable = false,
                         const std::string& description = "") {
  return {{"name", name},
          {"description", description},
          {"polaris", {{"agent", agent}, {"replicable", replicable}}}};
}

Claim stamped(const Json& decl, Stamp stamp, const std::string& origin = "n1") {
  auto parsed = parse_claim(decl);
  EXPECT_TRUE(parsed.claim.has_value()) << parsed.problem;
  Claim claim = *parsed.claim;
  claim.stamp = stamp;
  claim.origin = origin;
  return claim;
}

CatalogueOptions options(std::chrono::milliseconds deadline = 10min, bool overwrite = false) {
  return {.allow_overwrite = overwrite, .keepalive_deadline = deadline, .agent_timeout = 3s};
}

TEST(Catalogue, RegisterListUnregister) {
  Catalogue catalogue(options());
  EXPECT_TRUE(catalogue.claim(stamped(declaration("b"), 1), t0).success);
  const auto outcome = catalogue.claim(stamped(declaration("a"), 2), t0);
  EXPECT_TRUE(outcome.success);
  EXPECT_EQ(outcome.message, "OK");
  EXPECT_EQ(Json::parse(catalogue.list_json()), Json::array({declaration("a"), declaration("b")}));
  EXPECT_TRUE(catalogue.release("a", "", 3, t0).success);
  EXPECT_EQ(catalogue.size(), 1U);
  const auto missing = catalogue.release("a", "", 4, t0);
  EXPECT_FALSE(missing.success);
  EXPECT_EQ(missing.message, "unregister: a not found");
}

TEST(Catalogue, DuplicateRefusedUnlessOverwriteAllowed) {
  Catalogue strict(options());
  strict.claim(stamped(declaration("t", "first"), 1), t0);
  const auto refused = strict.claim(stamped(declaration("t", "second"), 2), t0);
  EXPECT_FALSE(refused.success);
  EXPECT_EQ(refused.message, "register: t already registered");
  EXPECT_EQ(Json::parse(strict.list_json())[0]["description"], "first");

  Catalogue lenient(options(10min, true));
  lenient.claim(stamped(declaration("t", "first"), 1), t0);
  EXPECT_TRUE(lenient.claim(stamped(declaration("t", "second"), 2), t0).success);
  EXPECT_EQ(Json::parse(lenient.list_json())[0]["description"], "second");
}

TEST(Catalogue, KeepaliveReAddsAndRefreshes) {
  Catalogue catalogue(options(10s));
  catalogue.claim(stamped(declaration("old"), 1), t0);
  catalogue.keepalive({stamped(declaration("old"), 2), stamped(declaration("new"), 2)}, t0 + 8s);
  EXPECT_EQ(catalogue.size(), 2U);
  EXPECT_TRUE(catalogue.sweep(t0 + 17s).expired.empty());  // refreshed at 8 s: deadline 18 s
  EXPECT_EQ(catalogue.sweep(t0 + 18s).expired, (std::vector<std::string>{"new", "old"}));
  EXPECT_EQ(catalogue.size(), 0U);
}

TEST(Catalogue, MalformedDeclarationsAreRefusedClearly) {
  EXPECT_EQ(parse_claim(Json::array()).problem, "the declaration is not a JSON object");
  EXPECT_EQ(parse_claim(Json{{"name", 3}}).problem, "the declaration has no string \"name\"");
  EXPECT_EQ(parse_claim(Json{{"name", "a b"}}).problem,
            "the tool name 'a b' contains white space or a wildcard");
  EXPECT_EQ(parse_claim(Json{{"name", "x"}, {"polaris", {{"agent", 5}}}}).problem,
            "polaris.agent must be a string");
}

// Two agents race for one name on two nodes; each node hears of the claims in a different
// order. Both nodes end with the earlier claim, and the later owner is revoked where it had won.
TEST(Catalogue, RacesEndWithTheSameOwnerWhateverTheOrder) {
  const Claim early = stamped(polaris_declaration("t", "agent-a"), 10, "n1");
  const Claim late = stamped(polaris_declaration("t", "agent-b"), 11, "n2");
  Catalogue first(options());
  Catalogue second(options());
  EXPECT_TRUE(first.claim(early, t0).success);
  EXPECT_FALSE(first.claim(late, t0).success);
  EXPECT_TRUE(second.claim(late, t0).success);
  const auto takeover = second.claim(early, t0);
  EXPECT_TRUE(takeover.success);
  ASSERT_EQ(takeover.revoked.size(), 1U);
  EXPECT_EQ(takeover.revoked[0].agent, "agent-b");
  for (const auto* node : {&first, &second}) {
    EXPECT_TRUE(node->owns("t", "agent-a"));
    EXPECT_FALSE(node->owns("t", "agent-b"));
    EXPECT_EQ(node->agent_count(), 1U);
  }
}

TEST(Catalogue, ReplicasShareANameOnlyWithIdenticalReplicableDeclarations) {
  Catalogue catalogue(options());
  EXPECT_TRUE(catalogue.claim(stamped(polaris_declaration("r", "a1", true), 1), t0).success);
  EXPECT_TRUE(catalogue.claim(stamped(polaris_declaration("r", "a2", true), 2), t0).success);
  const auto different =
      catalogue.claim(stamped(polaris_declaration("r", "a3", true, "other"), 3), t0);
  EXPECT_FALSE(different.success);
  EXPECT_EQ(different.message, "register: r already registered with a different declaration");
  EXPECT_FALSE(catalogue.claim(stamped(polaris_declaration("r", "a4", false), 4), t0).success);
  const Json listed = Json::parse(catalogue.list_json());
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0]["polaris"]["replicas"], 2);
  EXPECT_FALSE(listed[0]["polaris"].contains("agent"));
  EXPECT_TRUE(catalogue.release("r", "a1", 5, t0).success);
  EXPECT_EQ(Json::parse(catalogue.list_json())[0]["polaris"]["replicas"], 1);
}

TEST(Catalogue, ALateCopyOfAReleasedClaimDoesNotComeBack) {
  Catalogue catalogue(options());
  const Claim claim = stamped(polaris_declaration("t", "a1"), 5);
  catalogue.release("t", "a1", 6, t0);  // the release arrives first
  EXPECT_FALSE(catalogue.claim(claim, t0).success);
  EXPECT_EQ(catalogue.size(), 0U);
}

TEST(Catalogue, SilentAgentsAreGoneAndHeartbeatsAskForWhatIsMissing) {
  Catalogue catalogue(options());
  catalogue.claim(stamped(polaris_declaration("t", "a1"), 1), t0);
  catalogue.claim(stamped(polaris_declaration("u", "a2"), 2), t0);
  EXPECT_FALSE(catalogue.heartbeat("a1", 1, t0));
  EXPECT_TRUE(catalogue.heartbeat("a1", 2, t0));        // serves 2, this node holds 1
  EXPECT_FALSE(catalogue.heartbeat("a1", 2, t0 + 1s));  // asked already, recently
  const auto result = catalogue.sweep(t0 + 4500ms);
  ASSERT_EQ(result.gone_agents.size(), 1U);
  EXPECT_EQ(result.gone_agents[0].agent, "a1");
  EXPECT_EQ(result.gone_agents[0].tools, Json::parse(R"([{"name": "t", "idempotent": false}])"));
  EXPECT_EQ(result.expired, std::vector<std::string>{"t"});
  // a2 never sent a heartbeat: it lives by the keepalive deadline
  EXPECT_TRUE(catalogue.owns("u", "a2"));
}

TEST(Catalogue, PagesCoverEveryNameOnceWithinTheByteBudget) {
  Catalogue catalogue(options());
  for (int i = 0; i < 250; ++i) {
    catalogue.claim(stamped(declaration("tool" + std::to_string(1000 + i), std::string(50, 'x')),
                            static_cast<Stamp>(i + 1)),
                    t0);
  }
  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  while (true) {
    const std::string text = catalogue.page_json(after, 100, 4096);
    EXPECT_LE(text.size(), 4096U);
    const Json page = Json::parse(text);
    for (const auto& tool : page["tools"]) seen.push_back(tool["name"]);
    ++pages;
    if (!page.contains("next")) break;
    after = page["next"];
  }
  EXPECT_EQ(seen.size(), 250U);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
  EXPECT_GT(pages, 3);
}

TEST(Catalogue, ASnapshotCopiesOwnersAgentsAndTombstones) {
  Catalogue source(options());
  source.claim(stamped(polaris_declaration("r", "a1", true), 1), t0);
  source.claim(stamped(polaris_declaration("r", "a2", true), 2), t0);
  source.claim(stamped(declaration("ref"), 3), t0);
  source.heartbeat("a1", 1, t0);
  source.release("gone", "a3", 9, t0);
  Catalogue copy(options());
  std::string after;
  Stamp highest = 0;
  while (true) {
    const Json page = source.snapshot_page(after, 200, t0);
    highest = std::max(highest, copy.load_snapshot_page(Json::parse(page.dump()), t0));
    if (!page.contains("next")) break;
    after = page["next"];
  }
  EXPECT_EQ(copy.list_json(), source.list_json());
  EXPECT_EQ(highest, 9U);
  EXPECT_FALSE(copy.claim(stamped(polaris_declaration("gone", "a3"), 8), t0).success);
  // a1 heartbeats (copied): silent for longer than the timeout, it goes
  const auto gone = copy.sweep(t0 + 4s).gone_agents;
  ASSERT_EQ(gone.size(), 1U);
  EXPECT_EQ(gone[0].agent, "a1");
}

// Everything a peer holds, merged into `into` (what a node does when digests differ).
void merge(Catalogue& into, const Catalogue& from, Catalogue::Clock::time_point now) {
  std::string after;
  while (true) {
    const Json page = from.snapshot_page(after, 200, now);
    into.load_snapshot_page(Json::parse(page.dump()), now);
    if (!page.contains("next")) return;
    after = page["next"];
  }
}

TEST(CatalogueDigest, TheSameClaimsAndReleasesInAnyOrderGiveTheSameDigest) {
  const std::vector<Claim> claims{
      stamped(polaris_declaration("a", "x"), 1), stamped(polaris_declaration("b", "x"), 2),
      stamped(polaris_declaration("r", "x", true), 3),
      stamped(polaris_declaration("r", "y", true), 4, "n2"), stamped(declaration("ref"), 5)};
  Catalogue forward(options());
  for (const auto& claim : claims) forward.claim(claim, t0);
  forward.release("b", "x", 6, t0);
  Catalogue backward(options());
  backward.release("b", "x", 6, t0);
  for (auto claim = claims.rbegin(); claim != claims.rend(); ++claim) backward.claim(*claim, t0);
  EXPECT_EQ(forward.digest(), backward.digest());
  EXPECT_EQ(forward.digest().owners, 4U);

  Catalogue missed_release(options());
  for (const auto& claim : claims) missed_release.claim(claim, t0);
  EXPECT_NE(missed_release.digest(), forward.digest());
  Catalogue other_stamp(options());
  for (const auto& claim : claims) other_stamp.claim(claim, t0);
  other_stamp.release("b", "x", 6, t0);
  other_stamp.release("a", "x", 7, t0);
  other_stamp.claim(stamped(polaris_declaration("a", "x"), 8), t0);  // registered again
  EXPECT_EQ(other_stamp.digest().owners, forward.digest().owners);
  EXPECT_NE(other_stamp.digest(), forward.digest());
}

TEST(CatalogueDigest, AnOwnerKeepsItsEarliestStampOnEveryNode) {
  // A keepalive re-added the name on one node, which stamped it anew; the other node kept the
  // original claim. Whatever the order, both end with the earlier stamp.
  const Claim original = stamped(polaris_declaration("t", "x"), 10);
  const Claim readded = stamped(polaris_declaration("t", "x"), 20, "n2");
  Catalogue first(options());
  first.claim(original, t0);
  first.claim(readded, t0);
  Catalogue second(options());
  second.claim(readded, t0);
  second.claim(original, t0);
  EXPECT_EQ(first.digest(), second.digest());
}

TEST(CatalogueMerge, APeersCatalogueBringsTheClaimsAndReleasesThisNodeMissed) {
  Catalogue up_to_date(options());
  up_to_date.claim(stamped(polaris_declaration("kept", "x"), 1), t0);
  up_to_date.claim(stamped(polaris_declaration("released", "x"), 2), t0);
  up_to_date.release("released", "x", 3, t0);
  up_to_date.claim(stamped(declaration("added"), 4), t0);

  Catalogue behind(options());  // missed the release and the last claim
  behind.claim(stamped(polaris_declaration("kept", "x"), 1), t0);
  behind.claim(stamped(polaris_declaration("released", "x"), 2), t0);
  ASSERT_NE(behind.digest(), up_to_date.digest());

  // Both nodes merge the other's: the stale claim does not come back to the node that released
  // it, and both end equal.
  merge(up_to_date, behind, t0);
  merge(behind, up_to_date, t0);
  EXPECT_EQ(behind.digest(), up_to_date.digest());
  EXPECT_EQ(behind.list_json(), up_to_date.list_json());
  EXPECT_FALSE(behind.owns("released", "x"));
  EXPECT_TRUE(behind.owns("added", ""));
  EXPECT_EQ(up_to_date.size(), 2U);
}

TEST(CatalogueMerge, APeersCopyDoesNotMakeAKnownAgentLookAlive) {
  Catalogue node(options());  // agent_timeout 3 s
  node.claim(stamped(polaris_declaration("t", "x"), 1), t0);
  node.heartbeat("x", 1, t0);
  Catalogue peer(options());
  peer.claim(stamped(polaris_declaration("t", "x"), 1), t0);
  peer.claim(stamped(polaris_declaration("u", "x"), 2), t0);
  merge(node, peer, t0 + 2s);
  EXPECT_TRUE(node.owns("u", "x"));
  const auto gone = node.sweep(t0 + 3500ms).gone_agents;
  ASSERT_EQ(gone.size(), 1U) << "the merge counted as a heartbeat";
  EXPECT_EQ(gone[0].agent, "x");
}

TEST(CatalogueMerge, AnAgentThisNodeFoundGoneIsNotBroughtBackByAPeer) {
  Catalogue swept(options());
  swept.claim(stamped(polaris_declaration("t", "x"), 1), t0);
  swept.heartbeat("x", 1, t0);
  ASSERT_EQ(swept.sweep(t0 + 4s).gone_agents.size(), 1U);

  Catalogue late(options());  // has not swept yet
  late.claim(stamped(polaris_declaration("t", "x"), 1), t0);
  late.heartbeat("x", 1, t0 + 3s);
  merge(swept, late, t0 + 4s);
  EXPECT_EQ(swept.size(), 0U);
  EXPECT_TRUE(swept.sweep(t0 + 10s).gone_agents.empty()) << "announced gone a second time";

  // Alive after all: its heartbeat lifts that, and the peer's copy is taken again.
  swept.heartbeat("x", 1, t0 + 5s);
  merge(swept, late, t0 + 5s);
  EXPECT_TRUE(swept.owns("t", "x"));
}

}  // namespace
}  // namespace polaris::detail
