#include "policy-compiler/internal/content_ids.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace flatwall::compiler::internal {
namespace {

// A range of 16 ids for 10 keys forces collisions and multi-round probing.
constexpr uint64_t kFirst = 100;
constexpr uint64_t kEnd = 116;

uint64_t HashOf(int key) { return StableHasher().AddInt(static_cast<uint64_t>(key)).Finish(); }

std::map<int, uint32_t> IdsOf(const ContentIds<int>& ids) {
  std::map<int, uint32_t> out;
  ids.ForEach([&](int key, uint32_t id) { out[key] = id; });
  return out;
}

TEST(ContentIdsTest, AssignmentIsAFunctionOfTheKeySetDespiteCollisions) {
  std::vector<int> keys = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  std::vector<std::pair<int, uint64_t>> hashed;
  for (int key : keys) hashed.emplace_back(key, HashOf(key));
  ContentIds<int> bulk(kFirst, kEnd);
  bulk.Assign(hashed);
  std::map<int, uint32_t> expected = IdsOf(bulk);

  std::mt19937 random(7);
  for (int trial = 0; trial < 20; ++trial) {
    SCOPED_TRACE(trial);
    std::shuffle(keys.begin(), keys.end(), random);
    ContentIds<int> incremental(kFirst, kEnd);
    incremental.Add(99, HashOf(99));  // a key that comes and goes must leave no trace
    for (int key : keys) incremental.Add(key, HashOf(key));
    incremental.Remove(99);
    EXPECT_EQ(IdsOf(incremental), expected);
  }
  std::vector<uint32_t> ids;
  for (const auto& [key, id] : expected) {
    EXPECT_GE(id, kFirst);
    EXPECT_LT(id, kEnd);
    EXPECT_EQ(*bulk.KeyOf(id), key);
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end()) << "ids must be unique";
}

TEST(ContentIdsTest, ReportsExactlyTheKeysThatMoved) {
  ContentIds<int> ids(kFirst, kEnd);
  for (int key = 1; key <= 10; ++key) ids.Add(key, HashOf(key));
  for (int removed = 1; removed <= 10; ++removed) {
    SCOPED_TRACE(removed);
    ContentIds<int> copy = ids;
    std::map<int, uint32_t> before = IdsOf(copy);
    std::vector<ContentIds<int>::Renumbered> moved = copy.Remove(removed);
    std::map<int, uint32_t> after = IdsOf(copy);
    std::map<int, uint32_t> reported;
    for (const auto& change : moved) {
      EXPECT_EQ(before[change.key], change.old_id);
      reported[change.key] = change.new_id;
    }
    for (const auto& [key, id] : after) {
      if (before[key] != id) {
        EXPECT_EQ(reported[key], id) << "key " << key << " moved unreported";
      } else {
        EXPECT_EQ(reported.count(key), 0u) << "key " << key << " reported but did not move";
      }
    }
  }
}

TEST(ContentIdsTest, KeysWithoutCollisionsNeverMove) {
  // In the full 32-bit range collisions are negligible: adding and removing other keys
  // leaves every id in place.
  ContentIds<int> ids(1, uint64_t{1} << 32);
  for (int key = 0; key < 1000; ++key) EXPECT_TRUE(ids.Add(key, HashOf(key)).empty());
  std::map<int, uint32_t> before = IdsOf(ids);
  for (int key = 0; key < 1000; key += 2) EXPECT_TRUE(ids.Remove(key).empty());
  for (const auto& [key, id] : IdsOf(ids)) EXPECT_EQ(id, before[key]);
  EXPECT_EQ(ids.Find(0), 0u);
}

}  // namespace
}  // namespace flatwall::compiler::internal
