#include <netinet/in.h>

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "policy-compiler/annotations.h"
#include "policy-compiler/compiler.h"
#include "policy-compiler/policy_lookup.h"
#include "tests/testing/image_compare.h"
#include "tests/testing/model_builders.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::AllPortsOf;
using ::flatwall::testing::ApplyDiff;
using ::flatwall::testing::BlockPeer;
using ::flatwall::testing::Delete;
using ::flatwall::testing::DoesNotExist;
using ::flatwall::testing::Exists;
using ::flatwall::testing::In;
using ::flatwall::testing::Ip;
using ::flatwall::testing::MakeNamespace;
using ::flatwall::testing::NamedPolicyPort;
using ::flatwall::testing::NamespacePeer;
using ::flatwall::testing::NotIn;
using ::flatwall::testing::PodBuilder;
using ::flatwall::testing::PodInNamespacePeer;
using ::flatwall::testing::PodPeer;
using ::flatwall::testing::PolicyBuilder;
using ::flatwall::testing::Port;
using ::flatwall::testing::PortRange;
using ::flatwall::testing::Rule;
using ::flatwall::testing::SameImage;
using ::flatwall::testing::SameTables;
using ::flatwall::testing::Selector;
using ::flatwall::testing::Upsert;

// Random cluster events over a small universe, so that objects collide often: pods share
// labels (and so identities) and sometimes addresses, policies overlap, prefixes nest.
class EventGenerator {
 public:
  explicit EventGenerator(uint32_t seed) : random_(seed) {}

  ClusterEvent Next() {
    int what = Pick(20);
    if (what < 2) return NamespaceEvent();
    if (what < 12) return PodEvent();
    return PolicyEvent();
  }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }
  bool Chance(int percent) { return Pick(100) < percent; }
  template <typename T>
  const T& OneOf(const std::vector<T>& values) {
    return values[Pick(static_cast<int>(values.size()))];
  }

  std::string NamespaceName() { return OneOf<std::string>({"a", "b", "c"}); }

  ClusterEvent NamespaceEvent() {
    std::string name = NamespaceName();
    Labels labels;
    if (Chance(70)) labels["team"] = OneOf<std::string>({"red", "blue"});
    if (Chance(30)) labels["env"] = "prod";
    Namespace ns = MakeNamespace(name, labels);
    if (Chance(40)) ns.annotations[kLogAllowedAnnotation] = Chance(70) ? "true" : "false";
    ClusterObject object = std::move(ns);
    return Chance(20) ? Delete(object) : Upsert(object);
  }

  ClusterEvent PodEvent() {
    PodBuilder pod(NamespaceName(), "p" + std::to_string(Pick(12)));
    Labels labels{{"app", OneOf<std::string>({"web", "db", "cache"})}};
    if (Chance(40)) labels["tier"] = OneOf<std::string>({"front", "back"});
    pod.Labels(labels).Node(OneOf<std::string>({"node-1", "node-1", "node-2", ""}));
    if (Chance(60)) pod.NamedPort("http", OneOf<uint16_t>({80, 8080}));
    if (Chance(30)) pod.NamedPort("dns", 53, Protocol::kUdp);
    if (Chance(5)) pod.HostNetwork();
    std::vector<std::string> ips;
    int count = Pick(3);
    for (int i = 0; i < count; ++i) {
      ips.push_back(Chance(75) ? OneOf<std::string>({"10.1.2.", "10.1.9.", "10.2.0."}) +
                                     std::to_string(1 + Pick(8))
                               : "fd00::" + std::to_string(1 + Pick(5)));
    }
    pod.Ips(ips);
    return Chance(25) ? Delete(pod.Build()) : Upsert(pod.Build());
  }

  LabelSelector RandomSelector(const std::string& key, const std::vector<std::string>& values) {
    switch (Pick(6)) {
      case 0:
        return Selector();
      case 1:
        return Selector({{key, OneOf(values)}});
      case 2:
        return Selector({}, {In(key, {OneOf(values), OneOf(values)})});
      case 3:
        return Selector({}, {NotIn(key, {OneOf(values)})});
      case 4:
        return Selector({}, {Exists(key)});
      default:
        return Selector({}, {DoesNotExist(Chance(50) ? key : "tier")});
    }
  }

  PolicyPeer RandomPeer() {
    switch (Pick(5)) {
      case 0:
        return PodPeer(RandomSelector("app", {"web", "db", "cache"}));
      case 1:
        return NamespacePeer(RandomSelector("team", {"red", "blue"}));
      case 2:
        return PodInNamespacePeer(RandomSelector("tier", {"front", "back"}),
                                  RandomSelector("team", {"red", "blue"}));
      case 3:
        return BlockPeer(OneOf<std::string>({"10.0.0.0/8", "10.1.0.0/16", "::/0", "fd00::/120"}),
                         Chance(50) ? std::vector<std::string>{OneOf<std::string>(
                                          {"10.1.2.0/24", "10.1.2.4/30", "10.2.0.0/16"})}
                                    : std::vector<std::string>{});
      default:
        return BlockPeer(OneOf<std::string>({"10.1.2.0/24", "0.0.0.0/0", "fd00::/64"}));
    }
  }

  PolicyRule RandomRule() {
    PolicyRule rule;
    int peers = Pick(3);
    for (int i = 0; i < peers; ++i) {
      PolicyPeer peer = RandomPeer();
      // fd00::/120 only makes sense in IPv6 blocks; except prefixes must nest.
      if (peer.ip_block.has_value() && !peer.ip_block->except.empty() &&
          !peer.ip_block->cidr.Contains(peer.ip_block->except[0])) {
        peer.ip_block->except.clear();
      }
      rule.peers.push_back(peer);
    }
    int ports = Pick(3);
    for (int i = 0; i < ports; ++i) {
      switch (Pick(4)) {
        case 0:
          rule.ports.push_back(Port(OneOf<uint16_t>({53, 80, 8080}), Protocol::kTcp));
          break;
        case 1:
          rule.ports.push_back(PortRange(70, OneOf<uint16_t>({80, 90, 9000})));
          break;
        case 2:
          rule.ports.push_back(AllPortsOf(Protocol::kUdp));
          break;
        default:
          rule.ports.push_back(Chance(50) ? NamedPolicyPort("http")
                                          : NamedPolicyPort("dns", Protocol::kUdp));
          break;
      }
    }
    return rule;
  }

  ClusterEvent PolicyEvent() {
    PolicyBuilder policy(NamespaceName(), "np" + std::to_string(Pick(6)));
    policy.Select(RandomSelector("app", {"web", "db", "cache"}));
    int ingress = Pick(3);
    for (int i = 0; i < ingress; ++i) policy.Ingress(RandomRule());
    int egress = Pick(3);
    for (int i = 0; i < egress; ++i) policy.Egress(RandomRule());
    if (Chance(40)) policy.Types(Chance(70), Chance(70));
    if (Chance(30)) policy.Annotation(kLogAllowedAnnotation, "true");
    return Chance(20) ? Delete(policy.Build()) : Upsert(policy.Build());
  }

  std::mt19937 random_;
};

void RunRandomEvents(uint32_t seed, const CompileOptions& options, int events) {
  IncrementalCompiler compiler(options);
  EventGenerator generator(seed);
  MapImage previous = compiler.image();
  for (int i = 0; i < events; ++i) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " event " + std::to_string(i));
    ClusterEvent event = generator.Next();
    MapDiff diff = compiler.Apply(event);
    const MapImage& now = compiler.image();
    MapImage scratch = Compile(compiler.state(), options);
    ASSERT_TRUE(SameImage(now, scratch));
    ASSERT_TRUE(SameTables(ApplyDiff(previous, diff), now));
    // Minimal: exactly the entries that differ, nothing rewritten in vain.
    ASSERT_EQ(diff.size(), DiffImages(previous, now).size());
    previous = now;
  }
  // The sequences must exercise the interesting parts, not only empty tables.
  EXPECT_FALSE(previous.ipcache.empty());
}

TEST(IncrementalCompilerTest, RandomEventsKeepTheImageEqualToACompileFromScratch) {
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    RunRandomEvents(seed, {.node_name = "node-1"}, 250);
  }
}

TEST(IncrementalCompilerTest, RandomEventsWithEveryNodeLocal) {
  for (uint32_t seed : {11u, 12u}) {
    RunRandomEvents(seed, {.all_nodes = true}, 250);
  }
}

class PodEventTest : public ::testing::Test {
 protected:
  PodEventTest() : compiler_({.node_name = "node-1"}) {
    compiler_.Apply(Upsert(MakeNamespace("shop", {{"team", "a"}})));
    compiler_.Apply(Upsert(PodBuilder("shop", "web-1").Labels({{"app", "web"}}).Ips({"10.0.1.1"}).Build()));
    compiler_.Apply(Upsert(PodBuilder("shop", "db").Labels({{"app", "db"}}).Ips({"10.0.1.2"}).Build()));
    compiler_.Apply(Upsert(PodBuilder("shop", "web-r").Labels({{"app", "web"}}).Ips({"10.0.2.1"}).Node("node-2").Build()));
    compiler_.Apply(Upsert(PolicyBuilder("shop", "db-in").Select(Selector({{"app", "db"}})).Ingress(Rule({PodPeer(Selector({{"app", "web"}}))}, {Port(5432)})).Build()));
    compiler_.Apply(Upsert(PolicyBuilder("shop", "web-out").Select(Selector({{"app", "web"}})).Egress(Rule({PodPeer(Selector())})).Build()));
  }

  bool Allowed(const std::string& from, const std::string& to, uint16_t port) {
    return CheckFlow(compiler_.image(), Ip(from), Ip(to), IPPROTO_TCP, port).allowed;
  }

  IncrementalCompiler compiler_;
};

TEST_F(PodEventTest, LocalPodWithAnExistingIdentityTouchesOnlyItsOwnEntries) {
  MapDiff added = compiler_.Apply(Upsert(PodBuilder("shop", "web-2").Labels({{"app", "web"}}).Ips({"10.0.1.7", "fd00::7"}).Build()));
  EXPECT_EQ(added.ipcache.upserts.size(), 2u);
  EXPECT_EQ(added.endpoints.upserts.size(), 2u);
  EXPECT_EQ(added.size(), 4u);
  EXPECT_TRUE(Allowed("10.0.1.7", "10.0.1.2", 5432));
  EXPECT_FALSE(Allowed("10.0.1.7", "10.0.1.2", 5433));

  MapDiff deleted = compiler_.Apply(Delete(PodBuilder("shop", "web-2").Build()));
  EXPECT_EQ(deleted.ipcache.deletes.size(), 2u);
  EXPECT_EQ(deleted.endpoints.deletes.size(), 2u);
  EXPECT_EQ(deleted.size(), 4u);
}

TEST_F(PodEventTest, RemotePodWithAnExistingIdentityTouchesOnlyTheIpCache) {
  MapDiff added = compiler_.Apply(Upsert(PodBuilder("shop", "web-3").Labels({{"app", "web"}}).Ips({"10.0.2.9"}).Node("node-2").Build()));
  EXPECT_EQ(added.ipcache.upserts.size(), 1u);
  EXPECT_EQ(added.size(), 1u);
  EXPECT_TRUE(Allowed("10.0.2.9", "10.0.1.2", 5432));
}

TEST_F(PodEventTest, PodGettingItsAddressTouchesOnlyThatAddress) {
  compiler_.Apply(Upsert(PodBuilder("shop", "web-4").Labels({{"app", "web"}}).Build()));
  MapDiff addressed = compiler_.Apply(Upsert(PodBuilder("shop", "web-4").Labels({{"app", "web"}}).Ips({"10.0.1.8"}).Build()));
  EXPECT_EQ(addressed.ipcache.upserts.size(), 1u);
  EXPECT_EQ(addressed.endpoints.upserts.size(), 1u);
  EXPECT_EQ(addressed.size(), 2u);
}

TEST_F(PodEventTest, NewIdentityRewritesOnlyTheRulesetsThatSelectIt) {
  // A new web identity (other labels) is a peer of db's ingress and web's egress rules.
  MapDiff diff = compiler_.Apply(Upsert(PodBuilder("shop", "web-canary").Labels({{"app", "web"}, {"track", "canary"}}).Ips({"10.0.1.9"}).Build()));
  EXPECT_FALSE(diff.rules.upserts.empty());
  EXPECT_FALSE(diff.rules.deletes.empty()) << "the replaced rulesets are removed";
  EXPECT_TRUE(Allowed("10.0.1.9", "10.0.1.2", 5432));
  // A pod that no rule can select leaves every ruleset alone.
  MapDiff unrelated = compiler_.Apply(Upsert(MakeNamespace("other")));
  EXPECT_TRUE(unrelated.empty());
  MapDiff outsider = compiler_.Apply(Upsert(PodBuilder("other", "x").Labels({{"app", "x"}}).Ips({"10.0.3.1"}).Node("node-2").Build()));
  EXPECT_TRUE(outsider.rules.empty());
  EXPECT_EQ(outsider.size(), 1u);
}

TEST_F(PodEventTest, PolicyChangeSwapsRulesetsBeforeDroppingTheOldOnes) {
  const MapImage before = compiler_.image();
  MapDiff diff = compiler_.Apply(Upsert(PolicyBuilder("shop", "db-in").Select(Selector({{"app", "db"}})).Ingress(Rule({PodPeer(Selector({{"app", "web"}}))}, {Port(5433)})).Build()));
  EXPECT_TRUE(diff.ipcache.empty());
  EXPECT_TRUE(diff.cidrs.empty());
  ASSERT_EQ(diff.endpoints.upserts.size(), 1u);
  uint32_t new_ruleset = diff.endpoints.upserts[0].value.ruleset;
  for (const RuleEntry& entry : diff.rules.upserts) EXPECT_EQ(entry.key.ruleset, new_ruleset);
  for (const fw_rule_key& key : diff.rules.deletes) EXPECT_NE(key.ruleset, new_ruleset);
  EXPECT_FALSE(Allowed("10.0.1.1", "10.0.1.2", 5432));
  EXPECT_TRUE(Allowed("10.0.1.1", "10.0.1.2", 5433));
  // Between steps 2 and 3 of MapDiff's order both rulesets are present: the old image
  // plus the upserts still judges flows by the old ruleset where endpoints still point.
  MapImage midway = before;
  MapDiff upserts_only = diff;
  upserts_only.rules.deletes.clear();
  upserts_only.endpoints = {};
  midway = testing::ApplyDiff(midway, upserts_only);
  EXPECT_TRUE(CheckFlow(midway, Ip("10.0.1.1"), Ip("10.0.1.2"), IPPROTO_TCP, 5432).allowed);
}

TEST_F(PodEventTest, DeletingEverythingEmptiesTheImage) {
  for (const char* pod : {"web-1", "db", "web-r"}) compiler_.Apply(Delete(PodBuilder("shop", pod).Build()));
  for (const char* policy : {"db-in", "web-out"}) compiler_.Apply(Delete(PolicyBuilder("shop", policy).Build()));
  const MapImage& image = compiler_.image();
  EXPECT_TRUE(image.endpoints.empty());
  EXPECT_TRUE(image.ipcache.empty());
  EXPECT_TRUE(image.rules.empty());
  EXPECT_TRUE(image.cidrs.empty());
  EXPECT_TRUE(image.identities.empty());
  EXPECT_TRUE(image.rule_table.empty());
}

}  // namespace
}  // namespace flatwall::compiler
