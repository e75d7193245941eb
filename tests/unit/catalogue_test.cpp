// One node's catalogue: the reference's registration semantics.
#include <gtest/gtest.h>

#include "registry/catalogue.hpp"

namespace polaris::detail {
namespace {

using namespace std::chrono_literals;
const auto t0 = Catalogue::Clock::time_point{} + 1h;

Json declaration(const std::string& name, const std::string& description = "") {
  return {{"name", name}, {"description", description}};
}

TEST(Catalogue, RegisterListUnregister) {
  Catalogue catalogue(false, 10min);
  EXPECT_TRUE(catalogue.add(declaration("b"), t0).success);
  const auto outcome = catalogue.add(declaration("a"), t0);
  EXPECT_TRUE(outcome.success);
  EXPECT_EQ(outcome.message, "OK");
  EXPECT_EQ(catalogue.list(), Json::array({declaration("a"), declaration("b")}));
  EXPECT_TRUE(catalogue.remove(declaration("a")).success);
  EXPECT_EQ(catalogue.size(), 1U);
  const auto missing = catalogue.remove(declaration("a"));
  EXPECT_FALSE(missing.success);
  EXPECT_EQ(missing.message, "unregister: a not found");
}

TEST(Catalogue, DuplicateRefusedUnlessOverwriteAllowed) {
  Catalogue strict(false, 10min);
  strict.add(declaration("t", "first"), t0);
  const auto refused = strict.add(declaration("t", "second"), t0);
  EXPECT_FALSE(refused.success);
  EXPECT_EQ(refused.message, "register: t already registered");
  EXPECT_EQ(strict.list()[0]["description"], "first");

  Catalogue lenient(true, 10min);
  lenient.add(declaration("t", "first"), t0);
  EXPECT_TRUE(lenient.add(declaration("t", "second"), t0).success);
  EXPECT_EQ(lenient.list()[0]["description"], "second");
}

TEST(Catalogue, KeepaliveReAddsAndRefreshes) {
  Catalogue catalogue(false, 10s);
  catalogue.add(declaration("old"), t0);
  EXPECT_TRUE(
      catalogue.keepalive(Json::array({declaration("old"), declaration("new")}), t0 + 8s).success);
  EXPECT_EQ(catalogue.size(), 2U);
  EXPECT_TRUE(catalogue.sweep(t0 + 17s).empty());  // refreshed at 8 s: deadline 18 s
  EXPECT_EQ(catalogue.sweep(t0 + 18s), (std::vector<std::string>{"new", "old"}));
  EXPECT_EQ(catalogue.size(), 0U);
}

TEST(Catalogue, MalformedRequestsAreRefusedClearly) {
  Catalogue catalogue(false, 10s);
  EXPECT_EQ(catalogue.add(Json::array(), t0).message,
            "register: the declaration is not a JSON object");
  EXPECT_EQ(catalogue.add(Json{{"name", 3}}, t0).message,
            "register: the declaration has no string \"name\"");
  EXPECT_EQ(catalogue.add(Json{{"name", "a b"}}, t0).message,
            "register: the tool name 'a b' contains white space or a wildcard");
  EXPECT_EQ(catalogue.keepalive(Json::object(), t0).message,
            "keepalive: the body must be a JSON array of declarations");
  const auto partial = catalogue.keepalive(Json::array({declaration("ok"), 5}), t0);
  EXPECT_FALSE(partial.success);
  EXPECT_EQ(catalogue.size(), 1U);  // the valid entry is kept
}

}  // namespace
}  // namespace polaris::detail
