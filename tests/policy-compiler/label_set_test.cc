#include "policy-compiler/label_set.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

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
    EXPECT_EQ(other.map(), c.labels);
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
  EXPECT_EQ(again.map(), (Labels{{"app", "db"}}));
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
  const Labels& map = labels;  // what selector matching takes
  EXPECT_EQ(map.size(), 2u);
  std::vector<std::string> keys;
  for (const auto& [key, value] : labels) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"app", "tier"}));
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
