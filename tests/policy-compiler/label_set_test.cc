#include "policy-compiler/label_set.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace flatwall::compiler {
namespace {

TEST(LabelSetTest, EqualSetsShareStorage) {
  LabelSet a = Labels{{"app", "web"}, {"tier", "front"}};
  LabelSet b = {{"tier", "front"}, {"app", "web"}};
  EXPECT_TRUE(a.SharesStorageWith(b));
  EXPECT_EQ(a, b);
}

TEST(LabelSetTest, DifferentSetsDoNotShareStorage) {
  struct Case {
    const char* name;
    Labels labels;
  };
  const LabelSet base = {{"app", "web"}, {"tier", "front"}};
  for (const Case& c : std::vector<Case>{
           {"value differs", {{"app", "web"}, {"tier", "back"}}},
           {"key differs", {{"app", "web"}, {"tie", "front"}}},
           {"label missing", {{"app", "web"}}},
           {"label added", {{"app", "web"}, {"tier", "front"}, {"x", ""}}},
           // The same bytes split differently between key and value.
           {"split moved", {{"ap", "pweb"}, {"tier", "front"}}},
       }) {
    SCOPED_TRACE(c.name);
    LabelSet other = c.labels;
    EXPECT_FALSE(other.SharesStorageWith(base));
    EXPECT_NE(other, base);
    EXPECT_EQ(other.ToMap(), c.labels);
  }
}

TEST(LabelSetTest, LabelsSurviveTheirOtherUsersGoingAway) {
  std::optional<LabelSet> first = LabelSet{{"app", "web"}};
  LabelSet kept = Labels{{"app", "web"}};
  ASSERT_TRUE(kept.SharesStorageWith(*first));
  first.reset();
  EXPECT_EQ(kept.at("app"), "web");
  EXPECT_EQ(kept.size(), 1u);
  // The pool still hands out the surviving storage.
  EXPECT_TRUE(LabelSet({{"app", "web"}}).SharesStorageWith(kept));
}

TEST(LabelSetTest, SetsBuiltAgainAfterTheLastUserWentAwayAreEqual) {
  std::optional<LabelSet> gone = LabelSet{{"app", "db"}};
  gone.reset();  // the storage and its pool entry are freed
  LabelSet again = {{"app", "db"}};
  EXPECT_EQ(again.ToMap(), (Labels{{"app", "db"}}));
  EXPECT_TRUE(LabelSet({{"app", "db"}}).SharesStorageWith(again));
}

TEST(LabelSetTest, EmptySetsAllocateNothingAndAreEqual) {
  LabelSet none;
  LabelSet from_empty_map = Labels{};
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.begin(), none.end());
  EXPECT_TRUE(none.SharesStorageWith(from_empty_map));
  EXPECT_EQ(none, from_empty_map);
  EXPECT_NE(none, LabelSet({{"app", "web"}}));
}

TEST(LabelSetTest, ReadsLikeTheMap) {
  LabelSet labels = {{"app", "web"}, {"tier", "front"}};
  EXPECT_EQ(labels.find("tier")->second, "front");
  EXPECT_EQ(labels.find("zone"), labels.end());
  EXPECT_TRUE(labels.contains("app"));
  EXPECT_FALSE(labels.contains("zone"));
  EXPECT_THROW(labels.at("zone"), std::out_of_range);
  EXPECT_TRUE(labels == (Labels{{"app", "web"}, {"tier", "front"}}));
  EXPECT_TRUE((Labels{{"app", "web"}}) != labels);
  std::vector<std::string> keys;
  for (const auto& [key, value] : labels) keys.emplace_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"app", "tier"}));
  EXPECT_EQ(labels.ToMap(), (Labels{{"app", "web"}, {"tier", "front"}}));
}

// A set goes into JSON only as its map (an object), never as an array of pairs.
static_assert(!std::is_constructible_v<nlohmann::json, LabelSet>);
static_assert(std::is_constructible_v<nlohmann::json, Labels>);

TEST(LabelSetTest, GoesIntoJsonAsAnObjectThroughItsMap) {
  LabelSet labels = {{"app", "web"}, {"tier", "front"}};
  EXPECT_EQ(nlohmann::json(labels.ToMap()).dump(), R"({"app":"web","tier":"front"})");
}

// The flat storage keeps every byte of every key and value, whatever their lengths.
TEST(LabelSetTest, StorageKeepsKeysAndValuesOfAnyLength) {
  const Labels labels = {{"", "empty key"},
                         {"a", ""},
                         {std::string(253, 'k') + "/" + std::string(63, 'n'), std::string(63, 'v')},
                         {"bytes", std::string("\x00\xff\x01", 3)},
                         {"statefulset.kubernetes.io/pod-name", "web-0"}};
  LabelSet set = labels;
  EXPECT_EQ(set.size(), labels.size());
  EXPECT_EQ(set.ToMap(), labels);
  EXPECT_TRUE(set == labels);
  for (const auto& [key, value] : labels) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(set.contains(key));
    EXPECT_EQ(set.at(key), value);
  }
  EXPECT_FALSE(set.contains("b"));
  EXPECT_FALSE(set.contains("statefulset.kubernetes.io/pod-nam"));
}

// Identities are kept in maps keyed by labels: a LabelSet orders exactly as the Labels map
// of the same labels (key, then value, then the shorter set first; bytes unsigned).
TEST(LabelSetTest, OrdersAsTheMapsOfTheSameLabelsDo) {
  const std::vector<Labels> all = {
      {},
      {{"app", "web"}},
      {{"app", "web"}, {"tier", "front"}},
      {{"app", "web"}, {"tier", "back"}},
      {{"app", "webs"}},
      {{"app", "we"}},
      {{"ap", "pweb"}},
      {{"app", std::string("\xff")}},
      {{"app", "web"}, {"a", "z"}},
      {{"b", ""}},
  };
  for (const Labels& a : all) {
    for (const Labels& b : all) {
      SCOPED_TRACE(::testing::PrintToString(a) + " vs " + ::testing::PrintToString(b));
      EXPECT_EQ(LabelSet(a) < LabelSet(b), a < b);
      EXPECT_EQ(LabelSet(a) == LabelSet(b), a == b);
    }
  }
}

// The API watchers decode pods on their own threads while the agent drops old ones: sets
// built and released concurrently stay correct and keep sharing.
TEST(LabelSetTest, ThreadsBuildingAndDroppingTheSameSetsAgree) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  const LabelSet kept = {{"app", "shared"}};
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        LabelSet transient = {{"app", std::to_string(i % 7)}};
        LabelSet shared = {{"app", "shared"}};
        if (transient.at("app") != std::to_string(i % 7) || !shared.SharesStorageWith(kept)) {
          ++wrong[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, std::vector<int>(kThreads, 0));
}

}  // namespace
}  // namespace flatwall::compiler
