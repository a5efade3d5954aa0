#include "policy-compiler/map_image.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/image_compare.h"
#include "tests/testing/model_builders.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::ApplyDiff;
using ::flatwall::testing::Ip;
using ::flatwall::testing::SameTables;

IpcacheEntry Cached(const std::string& ip, uint32_t identity, uint32_t cidr_class = 0) {
  IpcacheEntry entry{};
  const IpAddress address = Ip(ip);
  std::copy(address.bytes().begin(), address.bytes().end(), entry.key.addr.bytes);
  entry.value = {identity, cidr_class};
  return entry;
}

RuleEntry RuleFor(uint32_t ruleset, uint32_t remote, uint32_t rule_id) {
  RuleEntry entry{};
  entry.key.prefixlen = FW_RULE_BITS_ANY_PROTOCOL;
  entry.key.ruleset = ruleset;
  entry.key.remote = remote;
  entry.value = {rule_id, FW_ACTION_ALLOW, 0, 0};
  return entry;
}

template <typename Entry>
std::vector<Entry> Sorted(std::vector<Entry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return AbiLess(a.key, b.key); });
  return entries;
}

struct DiffCase {
  std::string name;
  std::vector<IpcacheEntry> from_ipcache;
  std::vector<IpcacheEntry> to_ipcache;
  std::vector<RuleEntry> from_rules;
  std::vector<RuleEntry> to_rules;
  size_t upserts;
  size_t deletes;
};

TEST(MapImageTest, DiffHoldsExactlyTheChangedEntriesAndReproducesTheTarget) {
  const std::vector<DiffCase> cases = {
      {"Identical", {Cached("10.0.0.1", 300)}, {Cached("10.0.0.1", 300)},
       {RuleFor(5, 300, 1)}, {RuleFor(5, 300, 1)}, 0, 0},
      {"BothEmpty", {}, {}, {}, {}, 0, 0},
      {"Added", {}, {Cached("10.0.0.1", 300), Cached("fd00::1", 300)}, {}, {RuleFor(5, 300, 1)}, 3, 0},
      {"Removed", {Cached("10.0.0.1", 300)}, {}, {RuleFor(5, 300, 1), RuleFor(5, 301, 1)}, {}, 0, 3},
      {"ValueChangedIsAnUpsert", {Cached("10.0.0.1", 300)}, {Cached("10.0.0.1", 301)},
       {RuleFor(5, 300, 1)}, {RuleFor(5, 300, 2)}, 2, 0},
      {"ClassChangedIsAnUpsert", {Cached("10.0.0.1", 300, 7)}, {Cached("10.0.0.1", 300, 8)}, {}, {}, 1, 0},
      {"RulesetSwap", {}, {}, {RuleFor(5, 300, 1), RuleFor(5, 301, 1)},
       {RuleFor(6, 300, 1), RuleFor(6, 301, 1)}, 2, 2},
      {"Mixed", {Cached("10.0.0.1", 300), Cached("10.0.0.2", 300), Cached("10.0.0.3", 300)},
       {Cached("10.0.0.2", 300), Cached("10.0.0.3", 302), Cached("10.0.0.4", 300)}, {}, {}, 2, 1},
  };
  for (const DiffCase& test : cases) {
    SCOPED_TRACE(test.name);
    MapImage from;
    from.ipcache = Sorted(test.from_ipcache);
    from.rules = Sorted(test.from_rules);
    MapImage to;
    to.ipcache = Sorted(test.to_ipcache);
    to.rules = Sorted(test.to_rules);
    MapDiff diff = DiffImages(from, to);
    size_t upserts = diff.ipcache.upserts.size() + diff.rules.upserts.size();
    size_t deletes = diff.ipcache.deletes.size() + diff.rules.deletes.size();
    EXPECT_EQ(upserts, test.upserts);
    EXPECT_EQ(deletes, test.deletes);
    EXPECT_EQ(diff.empty(), test.upserts + test.deletes == 0);
    EXPECT_EQ(diff.size(), test.upserts + test.deletes);
    EXPECT_TRUE(SameTables(ApplyDiff(from, diff), to));
    EXPECT_TRUE(DiffImages(to, ApplyDiff(from, diff)).empty());
  }
}

TEST(MapImageTest, DiffCoversEveryTable) {
  MapImage from;
  MapImage to;
  EndpointEntry endpoint{};
  endpoint.key.addr = Cached("10.0.0.1", 0).key.addr;
  endpoint.value.identity = 300;
  to.endpoints = {endpoint};
  CidrEntry cidr{};
  cidr.key.prefixlen = 104;
  cidr.value.cidr_class = 9;
  to.cidrs = {cidr};
  MapDiff diff = DiffImages(from, to);
  EXPECT_EQ(diff.endpoints.upserts.size(), 1u);
  EXPECT_EQ(diff.cidrs.upserts.size(), 1u);
  MapDiff back = DiffImages(to, from);
  EXPECT_EQ(back.endpoints.deletes.size(), 1u);
  EXPECT_EQ(back.cidrs.deletes.size(), 1u);
}

}  // namespace
}  // namespace flatwall::compiler
