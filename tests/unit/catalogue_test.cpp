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

}  // namespace
}  // namespace polaris::detail
