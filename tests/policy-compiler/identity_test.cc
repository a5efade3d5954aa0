#include "policy-compiler/identity.h"

#include <algorithm>
#include <string>
#include <vector>

#include "abi/common.h"
#include "gtest/gtest.h"
#include "tests/testing/model_builders.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::PodBuilder;

const Labels kNamespaceLabels = {{"kubernetes.io/metadata.name", "shop"}, {"team", "a"}};

IdentityKey KeyOf(const Pod& pod, const Labels& namespace_labels = kNamespaceLabels) {
  return MakeIdentityKey(pod, namespace_labels);
}

TEST(IdentityTest, KeyHoldsSortedNamedPortsAndIgnoresUnnamedOnes) {
  Pod pod = PodBuilder("shop", "web")
                .NamedPort("http", 8080)
                .NamedPort("", 9090)
                .NamedPort("dns", 53, Protocol::kUdp)
                .NamedPort("dns", 53, Protocol::kTcp)
                .NamedPort("http", 8080);
  IdentityKey key = KeyOf(pod);
  NamedPortTable expected = {
      {"dns", {{Protocol::kTcp, 53}, {Protocol::kUdp, 53}}},
      {"http", {{Protocol::kTcp, 8080}}},
  };
  EXPECT_EQ(key.named_ports, expected);
  EXPECT_EQ(ResolveNamedPort(key, "dns", Protocol::kUdp), std::vector<uint16_t>{53});
  EXPECT_EQ(ResolveNamedPort(key, "http", Protocol::kTcp), std::vector<uint16_t>{8080});
  EXPECT_TRUE(ResolveNamedPort(key, "http", Protocol::kUdp).empty());
  EXPECT_TRUE(ResolveNamedPort(key, "metrics", Protocol::kTcp).empty());
}

TEST(IdentityTest, PodsWithEqualKeysShareAnIdentityAndAnyDifferenceSplitsThem) {
  Pod base = PodBuilder("shop", "web-1").Labels({{"app", "web"}}).NamedPort("http", 80);
  Pod twin = PodBuilder("shop", "web-2").Labels({{"app", "web"}}).NamedPort("http", 80).Node("n2");
  struct Variant {
    std::string name;
    IdentityKey key;
  };
  const std::vector<Variant> variants = {
      {"OtherLabels", KeyOf(PodBuilder("shop", "x").Labels({{"app", "db"}}).NamedPort("http", 80))},
      {"OtherNamespace",
       KeyOf(PodBuilder("bank", "x").Labels({{"app", "web"}}).NamedPort("http", 80))},
      {"OtherNamespaceLabels", KeyOf(base, {{"kubernetes.io/metadata.name", "shop"}})},
      {"OtherNamedPortNumber",
       KeyOf(PodBuilder("shop", "x").Labels({{"app", "web"}}).NamedPort("http", 81))},
      {"NoNamedPort", KeyOf(PodBuilder("shop", "x").Labels({{"app", "web"}}))},
  };
  IdentityTable table;
  IdentityChanges changes;
  uint32_t base_id = table.Acquire(KeyOf(base), &changes);
  EXPECT_EQ(table.Acquire(KeyOf(twin), &changes), base_id);
  for (const Variant& variant : variants) {
    SCOPED_TRACE(variant.name);
    EXPECT_NE(table.Acquire(variant.key, &changes), base_id);
  }
  EXPECT_EQ(table.size(), 1 + variants.size());
  EXPECT_EQ(changes.created.size(), 1 + variants.size());
}

TEST(IdentityTest, IdsAreInThePodRangeAndIndependentOfArrivalOrder) {
  std::vector<IdentityKey> keys;
  for (int i = 0; i < 200; ++i) {
    keys.push_back(KeyOf(PodBuilder("shop", "p").Labels({{"app", std::to_string(i)}})));
  }
  IdentityTable forward;
  IdentityTable backward;
  IdentityChanges changes;
  for (const IdentityKey& key : keys) forward.Acquire(key, &changes);
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) backward.Acquire(*it, &changes);
  IdentityTable bulk;
  std::vector<std::pair<IdentityKey, uint32_t>> counts;
  for (const IdentityKey& key : keys) counts.emplace_back(key, 1);
  bulk.Assign(counts);
  for (const IdentityKey& key : keys) {
    uint32_t id = forward.Find(key);
    EXPECT_GE(id, static_cast<uint32_t>(FW_IDENTITY_FIRST_POD));
    EXPECT_LT(id, 1u << 31);
    EXPECT_EQ(backward.Find(key), id);
    EXPECT_EQ(bulk.Find(key), id);
  }
}

TEST(IdentityTest, IdentityLivesWhileAnyPodReferencesIt) {
  IdentityTable table;
  IdentityKey key = KeyOf(PodBuilder("shop", "web").Labels({{"app", "web"}}));
  IdentityChanges changes;
  uint32_t id = table.Acquire(key, &changes);
  table.Acquire(key, &changes);
  EXPECT_EQ(changes.created, std::vector<uint32_t>{id});
  table.Release(id, &changes);
  EXPECT_TRUE(changes.removed.empty());
  EXPECT_NE(table.KeyOf(id), nullptr);
  table.Release(id, &changes);
  ASSERT_EQ(changes.removed.size(), 1u);
  EXPECT_EQ(changes.removed[0].first, id);
  EXPECT_EQ(changes.removed[0].second, key);
  EXPECT_EQ(table.KeyOf(id), nullptr);
  EXPECT_TRUE(table.WithLabel("app", "web").empty());
  EXPECT_TRUE(table.InNamespace("shop").empty());
}

TEST(IdentityTest, IndexesFindIdentitiesByNamespaceLabelAndNamedPort) {
  IdentityTable table;
  IdentityChanges changes;
  uint32_t web = table.Acquire(
      KeyOf(PodBuilder("shop", "web").Labels({{"app", "web"}}).NamedPort("http", 80)), &changes);
  uint32_t db = table.Acquire(KeyOf(PodBuilder("shop", "db").Labels({{"app", "db"}})), &changes);
  uint32_t other = table.Acquire(
      KeyOf(PodBuilder("bank", "web").Labels({{"app", "web"}}).NamedPort("http", 8080),
            {{"kubernetes.io/metadata.name", "bank"}}),
      &changes);
  std::vector<uint32_t> web_ids = {web, other};
  std::sort(web_ids.begin(), web_ids.end());
  EXPECT_EQ(table.WithLabel("app", "web"), web_ids);
  EXPECT_EQ(table.WithNamedPort("http"), web_ids);
  EXPECT_EQ(table.WithLabel("app", "db"), std::vector<uint32_t>{db});
  const auto& shop = table.InNamespace("shop");
  ASSERT_EQ(shop.size(), 1u);
  std::vector<uint32_t> shop_ids = {web, db};
  std::sort(shop_ids.begin(), shop_ids.end());
  EXPECT_EQ(shop.begin()->second, shop_ids);
  EXPECT_EQ(shop.begin()->first, kNamespaceLabels);
}

TEST(IdentityTest, LabelIndexKeepsALabelAfterTheIdentityItWasFirstSeenOnIsGone) {
  const std::string value(40, 'v');
  IdentityTable table;
  IdentityChanges changes;
  uint32_t first = table.Acquire(
      KeyOf(PodBuilder("shop", "a").Labels({{"app", value}, {"pod", "a"}})), &changes);
  uint32_t second = table.Acquire(
      KeyOf(PodBuilder("shop", "b").Labels({{"app", value}, {"pod", "b"}})), &changes);
  table.Release(first, &changes);
  changes = {};  // the last holder of the first identity's labels
  // Label sets of the same size made now are likely to reuse the freed block.
  std::vector<LabelSet> others;
  for (char c = 'a'; c <= 'z'; ++c) {
    others.push_back(LabelSet({{"app", std::string(40, c)}, {"pod", "a"}}));
  }

  EXPECT_EQ(table.WithLabel("app", value), std::vector<uint32_t>{second});
  EXPECT_TRUE(table.WithLabel("pod", "a").empty());
  table.Release(second, &changes);
  EXPECT_TRUE(table.WithLabel("app", value).empty());
}

}  // namespace
}  // namespace flatwall::compiler
