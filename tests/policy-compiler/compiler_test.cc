// NetworkPolicy semantics, checked by behaviour: each scenario compiles a small cluster
// and asks the compiled tables (with the datapath's lookup) whether flows pass.
#include "policy-compiler/compiler.h"

#include <netinet/in.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "policy-compiler/policy_lookup.h"
#include "tests/testing/image_compare.h"
#include "tests/testing/model_builders.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::AllPortsOf;
using ::flatwall::testing::BlockPeer;
using ::flatwall::testing::DoesNotExist;
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
using ::flatwall::testing::Selector;
using ::flatwall::testing::Upsert;

constexpr uint8_t kTcp = IPPROTO_TCP;
constexpr uint8_t kUdp = IPPROTO_UDP;
constexpr uint8_t kSctp = IPPROTO_SCTP;
constexpr uint8_t kIcmp = IPPROTO_ICMP;
constexpr uint8_t kIcmpV6 = IPPROTO_ICMPV6;

// One flow: from/to are "namespace/pod" (its first IP) or an address literal.
struct Flow {
  std::string from;
  std::string to;
  uint16_t port;
  bool allowed;
  uint8_t protocol = kTcp;
};

struct Scenario {
  std::string name;
  std::vector<NetworkPolicy> policies;
  std::vector<Flow> flows;
};

// The cluster every scenario starts from: namespaces shop (team=a), bank (team=b), ops
// (team=ops); pods listed below; 192.168.1.1 and 8.8.8.8 are outside the cluster.
void AddBaseCluster(ClusterState* state) {
  const std::vector<ClusterObject> objects = {
      MakeNamespace("shop", {{"team", "a"}}),
      MakeNamespace("bank", {{"team", "b"}}),
      MakeNamespace("ops", {{"team", "ops"}}),
      PodBuilder("shop", "web").Labels({{"app", "web"}}).Ips({"10.0.1.1"}).NamedPort("http", 8080).Build(),
      PodBuilder("shop", "db").Labels({{"app", "db"}}).Ips({"10.0.1.2"}).NamedPort("sql", 5432).Build(),
      PodBuilder("shop", "cache").Labels({{"app", "cache"}, {"tier", "back"}}).Ips({"10.0.1.3"}).Build(),
      PodBuilder("shop", "web-a").Labels({{"app", "web2"}}).Ips({"10.0.1.11"}).NamedPort("http", 8080).Build(),
      PodBuilder("shop", "web-b").Labels({{"app", "web2"}}).Ips({"10.0.1.12"}).NamedPort("http", 9090).Build(),
      PodBuilder("bank", "web").Labels({{"app", "web"}}).Ips({"10.0.2.1"}).NamedPort("http", 8080).Node("node-2").Build(),
      PodBuilder("bank", "api").Labels({{"app", "api"}, {"tier", "back"}}).Ips({"10.0.2.2"}).Node("node-2").Build(),
      PodBuilder("ops", "mon").Labels({{"app", "mon"}}).Ips({"10.0.3.1"}).Build(),
  };
  for (const ClusterObject& object : objects) state->Apply(Upsert(object));
}

IpAddress AddressOf(const ClusterState& state, const std::string& end) {
  if (const Pod* pod = state.FindPod(end); pod != nullptr && !pod->ips.empty()) {
    return pod->ips.front();
  }
  return Ip(end);
}

void ExpectFlows(const ClusterState& state, const MapImage& image, const std::vector<Flow>& flows) {
  for (const Flow& flow : flows) {
    SCOPED_TRACE(flow.from + " -> " + flow.to + " proto " + std::to_string(flow.protocol) +
                 " port " + std::to_string(flow.port));
    FlowVerdict verdict = CheckFlow(image, AddressOf(state, flow.from),
                                    AddressOf(state, flow.to), flow.protocol, flow.port);
    EXPECT_EQ(verdict.allowed, flow.allowed)
        << "egress reason " << verdict.egress.reason << ", ingress reason "
        << verdict.ingress.reason;
  }
}

void RunScenarios(const std::vector<Scenario>& scenarios) {
  for (const Scenario& scenario : scenarios) {
    SCOPED_TRACE(scenario.name);
    ClusterState state;
    AddBaseCluster(&state);
    for (const NetworkPolicy& policy : scenario.policies) state.Apply(Upsert(policy));
    ExpectFlows(state, Compile(state, {.all_nodes = true}), scenario.flows);
  }
}

// Ingress to shop/db from `peers` (any port).
NetworkPolicy DbIngressFrom(std::vector<PolicyPeer> peers) {
  return PolicyBuilder("shop", "db-in").Select(Selector({{"app", "db"}})).Ingress(Rule(std::move(peers)));
}

TEST(CompilerTest, WithoutPoliciesEveryFlowIsAllowed) {
  RunScenarios({{"NoPolicies",
                 {},
                 {{"shop/web", "shop/db", 5432, true},
                  {"bank/web", "shop/db", 1, true},
                  {"192.168.1.1", "shop/web", 80, true},
                  {"shop/web", "8.8.8.8", 53, true, kUdp},
                  {"ops/mon", "bank/api", 0, true, kIcmp}}}});
}

TEST(CompilerTest, PeersSelectLikeKubernetes) {
  RunScenarios({
      {"PodSelectorOnlyMeansThePolicyNamespace",
       {DbIngressFrom({PodPeer(Selector({{"app", "web"}}))})},
       {{"shop/web", "shop/db", 5432, true},
        {"bank/web", "shop/db", 5432, false},
        {"shop/cache", "shop/db", 5432, false}}},
      {"NamespaceSelectorOnlyMeansEveryPodThere",
       {DbIngressFrom({NamespacePeer(Selector({{"team", "b"}}))})},
       {{"bank/web", "shop/db", 5432, true},
        {"bank/api", "shop/db", 5432, true},
        {"shop/web", "shop/db", 5432, false},
        {"ops/mon", "shop/db", 5432, false}}},
      {"SelectorsInOnePeerAreAnded",
       {DbIngressFrom({PodInNamespacePeer(Selector({{"app", "web"}}), Selector({{"team", "b"}}))})},
       {{"bank/web", "shop/db", 5432, true},
        {"bank/api", "shop/db", 5432, false},
        {"shop/web", "shop/db", 5432, false}}},
      {"SeparatePeersAreOred",
       {DbIngressFrom({PodPeer(Selector({{"app", "web"}})), NamespacePeer(Selector({{"team", "b"}}))})},
       {{"shop/web", "shop/db", 5432, true},
        {"bank/web", "shop/db", 5432, true},
        {"bank/api", "shop/db", 5432, true},
        {"shop/cache", "shop/db", 5432, false},
        {"ops/mon", "shop/db", 5432, false}}},
      {"EmptyNamespaceSelectorMeansEveryNamespaceButNoExternalAddress",
       {DbIngressFrom({NamespacePeer(Selector())})},
       {{"ops/mon", "shop/db", 5432, true},
        {"bank/api", "shop/db", 5432, true},
        {"192.168.1.1", "shop/db", 5432, false}}},
      {"EmptyPodSelectorMeansEveryPodOfThePolicyNamespace",
       {DbIngressFrom({PodPeer(Selector())})},
       {{"shop/cache", "shop/db", 5432, true}, {"bank/web", "shop/db", 5432, false}}},
      {"NotInMatchesPodsMissingTheKey",
       {DbIngressFrom({PodInNamespacePeer(Selector({}, {NotIn("tier", {"back"})}), Selector())})},
       {{"shop/web", "shop/db", 5432, true},
        {"ops/mon", "shop/db", 5432, true},
        {"shop/cache", "shop/db", 5432, false},
        {"bank/api", "shop/db", 5432, false}}},
      {"DoesNotExistMatchesPodsMissingTheKey",
       {DbIngressFrom({PodPeer(Selector({}, {DoesNotExist("tier")}))})},
       {{"shop/web", "shop/db", 5432, true}, {"shop/cache", "shop/db", 5432, false}}},
      {"NamespaceSelectorByMetadataName",
       {DbIngressFrom({NamespacePeer(Selector({{"kubernetes.io/metadata.name", "ops"}}))})},
       {{"ops/mon", "shop/db", 5432, true}, {"bank/web", "shop/db", 5432, false}}},
      {"NoPeersMeansEveryPeerIncludingExternalAddresses",
       {DbIngressFrom({})},
       {{"192.168.1.1", "shop/db", 5432, true},
        {"bank/web", "shop/db", 5432, true},
        {"8.8.8.8", "shop/db", 0, true, kIcmp}}},
      {"InvalidPeersSelectNothing",
       {DbIngressFrom({PolicyPeer{},
                       PolicyPeer{Selector(), std::nullopt, BlockPeer("0.0.0.0/0").ip_block}})},
       {{"shop/web", "shop/db", 5432, false}, {"192.168.1.1", "shop/db", 5432, false}}},
  });
}

TEST(CompilerTest, PolicySelectionAndPolicyTypesDecideIsolation) {
  RunScenarios({
      {"PolicyWithoutRulesDeniesAllIngressToSelectedPodsOnly",
       {PolicyBuilder("shop", "deny").Select(Selector({{"app", "db"}}))},
       {{"shop/web", "shop/db", 5432, false},
        {"192.168.1.1", "shop/db", 5432, false},
        {"shop/db", "shop/web", 80, true},
        {"bank/web", "shop/web", 80, true}}},
      {"EmptyPodSelectorSelectsTheWholeNamespaceOnly",
       {PolicyBuilder("shop", "deny")},
       {{"bank/web", "shop/web", 80, false},
        {"bank/web", "shop/cache", 80, false},
        {"shop/web", "bank/web", 80, true}}},
      {"EgressTypeWithoutRulesDeniesAllEgress",
       {PolicyBuilder("shop", "no-egress").Select(Selector({{"app", "web"}})).Types(false, true)},
       {{"shop/web", "shop/db", 5432, false},
        {"shop/web", "8.8.8.8", 53, false, kUdp},
        {"shop/db", "shop/web", 80, true}}},
      {"RulesOfADirectionOutsidePolicyTypesAreIgnored",
       {PolicyBuilder("shop", "egress-only")
            .Select(Selector({{"app", "web"}}))
            .Types(false, true)
            .Ingress(Rule({PodPeer(Selector({{"app", "db"}}))}))
            .Egress(Rule({}))},
       {{"bank/web", "shop/web", 80, true}, {"shop/web", "8.8.8.8", 443, true}}},
      {"DefaultPolicyTypesIsolateEgressOnlyWithEgressRules",
       {PolicyBuilder("shop", "in").Select(Selector({{"app", "db"}})).Ingress(Rule({PodPeer(Selector({{"app", "web"}}))})),
        PolicyBuilder("shop", "out").Select(Selector({{"app", "web"}})).Egress(Rule({PodPeer(Selector({{"app", "db"}}))}))},
       {{"shop/db", "8.8.8.8", 443, true},
        {"shop/web", "shop/db", 5432, true},
        {"shop/web", "8.8.8.8", 443, false},
        // "out" also isolates web's ingress (Ingress is always a default type).
        {"shop/db", "shop/web", 80, false}}},
      {"AllowsAreTheUnionOfEverySelectingPolicy",
       {PolicyBuilder("shop", "from-web").Select(Selector({{"app", "db"}})).Ingress(Rule({PodPeer(Selector({{"app", "web"}}))}, {Port(5432)})),
        PolicyBuilder("shop", "from-bank").Select(Selector()).Ingress(Rule({NamespacePeer(Selector({{"team", "b"}}))}))},
       {{"shop/web", "shop/db", 5432, true},
        {"shop/web", "shop/db", 5433, false},
        {"bank/api", "shop/db", 5433, true},
        {"ops/mon", "shop/db", 5432, false}}},
      {"BothEndsMustAllow",
       {PolicyBuilder("shop", "web-out").Select(Selector({{"app", "web"}})).Types(false, true).Egress(Rule({PodPeer(Selector({{"app", "db"}}))})),
        PolicyBuilder("shop", "db-in").Select(Selector({{"app", "db"}})).Ingress(Rule({PodPeer(Selector({{"app", "cache"}}))}))},
       {{"shop/web", "shop/db", 5432, false},
        {"shop/cache", "shop/db", 5432, true},
        {"shop/web", "shop/cache", 80, false}}},
      {"PoliciesOfOtherNamespacesDoNotSelect",
       {PolicyBuilder("bank", "deny")},
       {{"shop/web", "shop/db", 5432, true}, {"shop/web", "bank/web", 80, false}}},
  });
}

TEST(CompilerTest, PortsAndProtocolsAreMatchedExactly) {
  auto db_ingress = [](std::vector<PolicyPort> ports) {
    return PolicyBuilder("shop", "db-ports").Select(Selector({{"app", "db"}})).Ingress(Rule({}, std::move(ports))).Build();
  };
  RunScenarios({
      {"NumericPortIsOneProtocolAndPort",
       {db_ingress({Port(5432)})},
       {{"shop/web", "shop/db", 5432, true},
        {"shop/web", "shop/db", 5431, false},
        {"shop/web", "shop/db", 5433, false},
        {"shop/web", "shop/db", 5432, false, kUdp},
        {"shop/web", "shop/db", 5432, false, kSctp},
        {"shop/web", "shop/db", 0, false, kIcmp}}},
      {"UdpAndSctpPorts",
       {db_ingress({Port(53, Protocol::kUdp), Port(9000, Protocol::kSctp)})},
       {{"shop/web", "shop/db", 53, true, kUdp},
        {"shop/web", "shop/db", 53, false},
        {"shop/web", "shop/db", 9000, true, kSctp},
        {"shop/web", "shop/db", 9000, false, kUdp}}},
      {"ProtocolWithoutPortAllowsAllItsPorts",
       {db_ingress({AllPortsOf(Protocol::kUdp)})},
       {{"shop/web", "shop/db", 1, true, kUdp},
        {"shop/web", "shop/db", 65535, true, kUdp},
        {"shop/web", "shop/db", 53, false},
        {"shop/web", "shop/db", 0, false, kIcmp}}},
      {"NoPortsAllowsEveryProtocolIncludingIcmp",
       {db_ingress({})},
       {{"shop/web", "shop/db", 0, true, kIcmp},
        {"shop/web", "shop/db", 7, true, kSctp},
        {"shop/web", "shop/db", 65535, true, kUdp}}},
  });
}

TEST(CompilerTest, PortRangesIncludeBothEndsAndNothingBeyond) {
  struct Range {
    uint16_t port;
    uint16_t end_port;
  };
  for (const Range& range : std::vector<Range>{{1, 65535}, {32768, 60999}, {80, 80}, {8080, 8089}, {1000, 1023}}) {
    SCOPED_TRACE(std::to_string(range.port) + "-" + std::to_string(range.end_port));
    std::vector<Flow> flows = {{"shop/web", "shop/db", range.port, true},
                               {"shop/web", "shop/db", range.end_port, true},
                               {"shop/web", "shop/db", static_cast<uint16_t>((range.port + range.end_port) / 2), true},
                               {"shop/web", "shop/db", range.port, false, kUdp}};
    flows.push_back({"shop/web", "shop/db", static_cast<uint16_t>(range.port - 1), false});
    if (range.end_port < 65535) {
      flows.push_back({"shop/web", "shop/db", static_cast<uint16_t>(range.end_port + 1), false});
    }
    RunScenarios({{"Range",
                   {PolicyBuilder("shop", "range").Select(Selector({{"app", "db"}})).Ingress(Rule({}, {PortRange(range.port, range.end_port)}))},
                   flows}});
  }
}

TEST(CompilerTest, NamedPortsResolvePerPodIdentity) {
  RunScenarios({
      {"IngressNamedPortResolvesAgainstEachLocalPod",
       {PolicyBuilder("shop", "http-in").Select(Selector({{"app", "web2"}})).Ingress(Rule({}, {NamedPolicyPort("http")}))},
       {{"shop/db", "shop/web-a", 8080, true},
        {"shop/db", "shop/web-a", 9090, false},
        {"shop/db", "shop/web-b", 9090, true},
        {"shop/db", "shop/web-b", 8080, false}}},
      {"IngressNamedPortOfAnotherProtocolAllowsNothing",
       {PolicyBuilder("shop", "http-in").Select(Selector({{"app", "web2"}})).Ingress(Rule({}, {NamedPolicyPort("http", Protocol::kUdp)}))},
       {{"shop/db", "shop/web-a", 8080, false, kUdp}, {"shop/db", "shop/web-a", 8080, false}}},
      {"IngressNamedPortThePodLacksAllowsNothing",
       {PolicyBuilder("shop", "sql-in").Select(Selector({{"app", "web2"}})).Ingress(Rule({}, {NamedPolicyPort("sql")}))},
       {{"shop/db", "shop/web-a", 5432, false}, {"shop/db", "shop/web-a", 8080, false}}},
      {"EgressNamedPortResolvesAgainstEachRemotePod",
       {PolicyBuilder("shop", "http-out").Select(Selector({{"app", "web"}})).Egress(Rule({PodPeer(Selector({{"app", "web2"}}))}, {NamedPolicyPort("http")}))},
       {{"shop/web", "shop/web-a", 8080, true},
        {"shop/web", "shop/web-a", 9090, false},
        {"shop/web", "shop/web-b", 9090, true},
        {"shop/web", "shop/web-b", 8080, false},
        {"shop/web", "shop/db", 8080, false}}},
      {"EgressNamedPortTowardsEveryPeerMatchesPodsOnly",
       {PolicyBuilder("shop", "http-out").Select(Selector({{"app", "web"}})).Egress(Rule({}, {NamedPolicyPort("http")}))},
       {{"shop/web", "shop/web-a", 8080, true},
        {"shop/web", "shop/web-b", 9090, true},
        {"shop/web", "bank/web", 8080, true},
        {"shop/web", "shop/db", 8080, false},
        {"shop/web", "192.168.1.1", 8080, false}}},
      {"EgressNamedPortTowardsIpBlockMatchesPodsInsideOnly",
       {PolicyBuilder("shop", "http-out").Select(Selector({{"app", "web"}})).Egress(Rule({BlockPeer("10.0.1.0/24")}, {NamedPolicyPort("http")}))},
       {{"shop/web", "shop/web-a", 8080, true},
        {"shop/web", "shop/web-b", 9090, true},
        {"shop/web", "shop/web-b", 8080, false},
        {"shop/web", "bank/web", 8080, false},
        {"shop/web", "10.0.1.200", 8080, false}}},
  });
}

TEST(CompilerTest, EgressNamedPortTowardsIpBlockSkipsIdentitiesStraddlingTheBlock) {
  // split-1 and split-2 share an identity; only split-1's address is inside the block. A
  // rule key holds identity or class, not both, so the exact answer (allow split-1 only)
  // is not expressible; the compiler allows neither rather than both.
  ClusterState state;
  AddBaseCluster(&state);
  state.Apply(Upsert(PodBuilder("shop", "split-1").Labels({{"app", "split"}}).Ips({"10.0.1.21"}).NamedPort("http", 8080).Build()));
  state.Apply(Upsert(PodBuilder("shop", "split-2").Labels({{"app", "split"}}).Ips({"10.9.0.1"}).NamedPort("http", 8080).Build()));
  state.Apply(Upsert(PolicyBuilder("shop", "http-out").Select(Selector({{"app", "web"}})).Egress(Rule({BlockPeer("10.0.1.0/24")}, {NamedPolicyPort("http")})).Build()));
  ExpectFlows(state, Compile(state, {.all_nodes = true}),
              {{"shop/web", "shop/split-1", 8080, false},
               {"shop/web", "shop/split-2", 8080, false},
               {"shop/web", "shop/web-a", 8080, true}});
}

TEST(CompilerTest, IpBlocksApplyToExternalAndPodAddresses) {
  RunScenarios({
      {"CidrWithExceptIncludesBothEdgesOfWhatRemains",
       {DbIngressFrom({BlockPeer("192.168.0.0/16", {"192.168.1.0/24"})})},
       {{"192.168.0.0", "shop/db", 5432, true},
        {"192.168.0.255", "shop/db", 5432, true},
        {"192.168.1.0", "shop/db", 5432, false},
        {"192.168.1.255", "shop/db", 5432, false},
        {"192.168.2.0", "shop/db", 5432, true},
        {"192.168.255.255", "shop/db", 5432, true},
        {"192.169.0.0", "shop/db", 5432, false},
        {"8.8.8.8", "shop/db", 5432, false}}},
      {"IpBlockMatchesPodAddresses",
       {DbIngressFrom({BlockPeer("10.0.2.0/24")})},
       {{"bank/web", "shop/db", 5432, true}, {"shop/web", "shop/db", 5432, false}}},
      {"ExceptRemovesPodAddresses",
       {DbIngressFrom({BlockPeer("10.0.0.0/16", {"10.0.2.0/24"})})},
       {{"shop/web", "shop/db", 5432, true},
        {"ops/mon", "shop/db", 5432, true},
        {"bank/web", "shop/db", 5432, false}}},
      {"EgressToTheInternetButNotTheCluster",
       {PolicyBuilder("shop", "internet").Select(Selector({{"app", "web"}})).Egress(Rule({BlockPeer("0.0.0.0/0", {"10.0.0.0/8"})}))},
       {{"shop/web", "8.8.8.8", 443, true},
        {"shop/web", "192.168.1.1", 22, true},
        {"shop/web", "shop/db", 5432, false},
        {"shop/web", "10.200.0.1", 443, false}}},
      {"IpBlockOfAnotherPolicyDoesNotLeak",
       {DbIngressFrom({BlockPeer("192.168.0.0/16")}),
        PolicyBuilder("shop", "web-in").Select(Selector({{"app", "web"}})).Ingress(Rule({BlockPeer("192.168.1.0/24")}))},
       {{"192.168.2.1", "shop/web", 80, false},
        {"192.168.1.1", "shop/web", 80, true},
        {"192.168.1.1", "shop/db", 80, true}}},
      {"IpBlockAndSelectorPeersCombine",
       {DbIngressFrom({BlockPeer("192.168.1.0/24"), PodPeer(Selector({{"app", "web"}}))})},
       {{"192.168.1.9", "shop/db", 5432, true},
        {"shop/web", "shop/db", 5432, true},
        {"shop/cache", "shop/db", 5432, false}}},
  });
}

TEST(CompilerTest, Ipv6AddressesAndBlocks) {
  ClusterState state;
  state.Apply(Upsert(MakeNamespace("six")));
  state.Apply(Upsert(PodBuilder("six", "a").Labels({{"app", "a"}}).Ips({"10.6.0.1", "fd00:6::1"}).Build()));
  state.Apply(Upsert(PodBuilder("six", "b").Labels({{"app", "b"}}).Ips({"fd00:6::2"}).Build()));
  state.Apply(Upsert(PolicyBuilder("six", "a-in")
                         .Select(Selector({{"app", "a"}}))
                         .Ingress(Rule({BlockPeer("2001:db8::/32", {"2001:db8:bad::/48"})}))
                         .Ingress(Rule({BlockPeer("::/0")}, {Port(443)}))
                         .Ingress(Rule({PodPeer(Selector({{"app", "b"}}))}, {}))
                         .Build()));
  ExpectFlows(state, Compile(state, {.all_nodes = true}),
              {{"2001:db8::1", "fd00:6::1", 80, true},
               {"2001:db8:ffff:ffff::1", "fd00:6::1", 80, true},
               {"2001:db8:bad::1", "fd00:6::1", 80, false},
               {"2001:db9::1", "fd00:6::1", 80, false},
               {"2001:db9::1", "fd00:6::1", 443, true},
               {"2001:db8::1", "fd00:6::1", 0, true, kIcmpV6},
               // ::/0 is all of IPv6 and none of IPv4.
               {"8.8.8.8", "10.6.0.1", 443, false},
               {"fd00:6::2", "fd00:6::1", 80, true},
               {"fd00:6::2", "fd00:6::1", 0, true, kIcmpV6}});
}

TEST(CompilerTest, NamespacesWithoutAnObjectHaveOnlyTheirNameLabel) {
  ClusterState state;
  AddBaseCluster(&state);
  state.Apply(Upsert(PodBuilder("ghost", "p").Labels({{"app", "p"}}).Ips({"10.0.9.1"}).Build()));
  state.Apply(Upsert(DbIngressFrom({NamespacePeer(Selector({{"kubernetes.io/metadata.name", "ghost"}}))})));
  state.Apply(Upsert(PolicyBuilder("shop", "web-in").Select(Selector({{"app", "web"}})).Ingress(Rule({NamespacePeer(Selector({{"team", "a"}}))}))
                         .Build()));
  ExpectFlows(state, Compile(state, {.all_nodes = true}),
              {{"ghost/p", "shop/db", 5432, true}, {"ghost/p", "shop/web", 80, false}});
}

TEST(CompilerTest, OnlyScheduledPodsWithAddressesBecomeEntries) {
  ClusterState state;
  state.Apply(Upsert(MakeNamespace("n")));
  state.Apply(Upsert(PodBuilder("n", "local").Labels({{"app", "x"}}).Ips({"10.1.0.1"}).Build()));
  state.Apply(Upsert(PodBuilder("n", "remote").Labels({{"app", "x"}}).Ips({"10.1.0.2"}).Node("node-2").Build()));
  state.Apply(Upsert(PodBuilder("n", "host").Labels({{"app", "x"}}).Ips({"10.10.0.5"}).HostNetwork().Build()));
  state.Apply(Upsert(PodBuilder("n", "pending").Labels({{"app", "y"}}).Build()));
  state.Apply(Upsert(PodBuilder("n", "unscheduled").Labels({{"app", "x"}}).Ips({"10.1.0.4"}).Node("").Build()));
  MapImage image = Compile(state, {.node_name = "node-1"});

  std::vector<std::string> endpoints;
  for (const EndpointInfo& info : image.endpoint_info) endpoints.push_back(info.pod_name);
  EXPECT_EQ(endpoints, std::vector<std::string>{"local"});
  std::vector<std::string> cached;
  for (const PodAddressInfo& info : image.pod_addresses) cached.push_back(info.pod_name);
  EXPECT_EQ(cached, (std::vector<std::string>{"local", "remote", "unscheduled"}));
  EXPECT_EQ(image.ipcache.size(), 3u);
  // local, remote and unscheduled share {app: x}; pending has its own; host has none.
  EXPECT_EQ(image.identities.size(), 2u);

  MapImage all = Compile(state, {.all_nodes = true});
  EXPECT_EQ(all.endpoints.size(), 2u) << "every scheduled pod, not the unscheduled one";
}

TEST(CompilerTest, DualStackPodGetsOneEntryPerAddress) {
  ClusterState state;
  state.Apply(Upsert(PodBuilder("n", "p").Ips({"10.1.0.1", "fd00::1"}).Build()));
  MapImage image = Compile(state, {.node_name = "node-1"});
  ASSERT_EQ(image.endpoints.size(), 2u);
  ASSERT_EQ(image.ipcache.size(), 2u);
  EXPECT_EQ(image.endpoints[0].value.identity, image.endpoints[1].value.identity);
  EXPECT_EQ(image.endpoint_info[0].pod_name, "p");
  EXPECT_EQ(image.endpoint_info[1].pod_name, "p");
}

TEST(CompilerTest, TablesGrowWithIdentitiesNotWithPods) {
  auto compile_with_replicas = [](int replicas) {
    ClusterState state;
    AddBaseCluster(&state);
    for (int i = 0; i < replicas; ++i) {
      state.Apply(Upsert(PodBuilder("shop", "replica-" + std::to_string(i))
                             .Labels({{"app", "web"}})
                             .Ips({"10.0.5." + std::to_string(i + 1)})
                             .NamedPort("http", 8080)
                             .Build()));
    }
    state.Apply(Upsert(DbIngressFrom({PodPeer(Selector({{"app", "web"}}))})));
    state.Apply(Upsert(PolicyBuilder("shop", "web-out").Select(Selector({{"app", "web"}})).Egress(Rule({PodPeer(Selector())}))
                           .Build()));
    return Compile(state, {.all_nodes = true});
  };
  MapImage few = compile_with_replicas(1);
  MapImage many = compile_with_replicas(50);
  EXPECT_EQ(many.rules.size(), few.rules.size());
  EXPECT_EQ(many.identities.size(), few.identities.size());
  EXPECT_EQ(many.ipcache.size(), few.ipcache.size() + 49);
}

TEST(CompilerTest, EndpointsCarryIsolationRuleKindsAndSharedRulesets) {
  ClusterState state;
  AddBaseCluster(&state);
  // web and cache get the same rules from one policy: one shared ruleset.
  state.Apply(Upsert(PolicyBuilder("shop", "b-policy")
                         .Select(Selector({}, {In("app", {"web", "cache"})}))
                         .Ingress(Rule({PodPeer(Selector({{"app", "db"}}))}))
                         .Egress(Rule({BlockPeer("8.8.8.0/24")}, {Port(53, Protocol::kUdp)}))
                         .Egress(Rule({}, {Port(443)}))
                         .Build()));
  state.Apply(Upsert(PolicyBuilder("shop", "a-policy").Select(Selector({{"app", "web"}}))
                         .Build()));
  MapImage image = Compile(state, {.all_nodes = true});
  auto endpoint_of = [&](const std::string& ip) -> const EndpointEntry& {
    for (const EndpointEntry& entry : image.endpoints) {
      if (IpAddress(std::to_array(entry.key.addr.bytes)) == Ip(ip)) return entry;
    }
    ADD_FAILURE() << "no endpoint " << ip;
    return image.endpoints.front();
  };
  const fw_endpoint_value& web = endpoint_of("10.0.1.1").value;
  const fw_endpoint_value& cache = endpoint_of("10.0.1.3").value;
  const fw_endpoint_value& db = endpoint_of("10.0.1.2").value;
  EXPECT_NE(web.identity, cache.identity);
  EXPECT_EQ(web.ruleset, cache.ruleset);
  EXPECT_NE(web.ruleset, 0u);
  EXPECT_EQ(web.flags, FW_EP_ISOLATED_INGRESS | FW_EP_ISOLATED_EGRESS);
  // Ingress from db on anything; egress to a block on UDP 53 and to anyone on TCP 443.
  EXPECT_EQ(web.rule_kinds[FW_DIR_INGRESS], FW_RULES_HAVE_IDENTITY | FW_RULES_HAVE_ANY_PROTOCOL);
  EXPECT_EQ(web.rule_kinds[FW_DIR_EGRESS],
            FW_RULES_HAVE_CIDR | FW_RULES_HAVE_ANY | FW_RULES_HAVE_EXACT_PORT);
  EXPECT_EQ(db.flags, 0);
  EXPECT_EQ(db.ruleset, 0u);
  for (const RuleEntry& entry : image.rules) {
    EXPECT_EQ(entry.key.ruleset, web.ruleset);
    EXPECT_EQ(entry.value.action, FW_ACTION_ALLOW);
  }
  // isolating_policies: sorted, per direction.
  for (size_t i = 0; i < image.endpoints.size(); ++i) {
    if (image.endpoints[i].value.identity != web.identity) continue;
    EXPECT_EQ(image.endpoint_info[i].pod_name, "web");
    EXPECT_EQ(image.endpoint_info[i].isolating_policies[FW_DIR_INGRESS],
              (std::vector<std::string>{"shop/a-policy", "shop/b-policy"}));
    EXPECT_EQ(image.endpoint_info[i].isolating_policies[FW_DIR_EGRESS],
              std::vector<std::string>{"shop/b-policy"});
  }
}

TEST(CompilerTest, PolicyTableNamesTheIsolatingPoliciesWithUidAndGeneration) {
  ClusterState state;
  AddBaseCluster(&state);
  NetworkPolicy deny_all = PolicyBuilder("shop", "deny-all").Select(Selector({})).Build();
  deny_all.generation = 4;
  state.Apply(Upsert(deny_all));
  state.Apply(Upsert(PolicyBuilder("shop", "allow-db")
                         .Select(Selector({{"app", "db"}}))
                         .Ingress(Rule({PodPeer(Selector({{"app", "web"}}))}))
                         .Build()));
  // Selects no pod: isolates nothing, so it is not in the table.
  state.Apply(Upsert(PolicyBuilder("shop", "for-nobody").Select(Selector({{"app", "none"}}))
                         .Build()));
  MapImage image = Compile(state, {.all_nodes = true});
  ASSERT_EQ(image.policy_table.size(), 2u);
  EXPECT_EQ(image.policy_table[0].policy_name, "allow-db");  // sorted by namespace, name
  EXPECT_EQ(image.policy_table[0].policy_generation, 1);
  const PolicyInfo& rule_less = image.policy_table[1];
  EXPECT_EQ(rule_less.policy_namespace, "shop");
  EXPECT_EQ(rule_less.policy_name, "deny-all");
  EXPECT_EQ(rule_less.policy_uid, "uid-np-shop-deny-all");
  EXPECT_EQ(rule_less.policy_generation, 4);
}

TEST(CompilerTest, OverlappingRulesAreAttributedToTheLowestRuleId) {
  ClusterState state;
  AddBaseCluster(&state);
  for (const char* name : {"first", "second", "third"}) {
    state.Apply(Upsert(PolicyBuilder("shop", name).Select(Selector({{"app", "db"}})).Ingress(Rule({PodPeer(Selector({{"app", "web"}}))}, {Port(5432)}))
                           .Build()));
  }
  MapImage image = Compile(state, {.all_nodes = true});
  ASSERT_EQ(image.rule_table.size(), 3u);
  uint32_t lowest = image.rule_table.front().rule_id;  // the table is sorted by id
  PolicyVerdict verdict = LookupPolicy(image, {Ip("10.0.1.2"), Ip("10.0.1.1"), FW_DIR_INGRESS, kTcp, 5432});
  EXPECT_EQ(verdict.reason, FW_REASON_RULE);
  EXPECT_EQ(verdict.rule_id, lowest);
  for (const RuleInfo& info : image.rule_table) {
    EXPECT_EQ(info.policy_namespace, "shop");
    EXPECT_EQ(info.direction, FW_DIR_INGRESS);
    EXPECT_EQ(info.rule_index, 0);
    EXPECT_EQ(info.policy_uid, "uid-np-shop-" + info.policy_name);
  }
}

TEST(CompilerTest, OutputIsDeterministicAndIndependentOfArrivalOrder) {
  std::vector<ClusterObject> objects;
  {
    ClusterState base;
    AddBaseCluster(&base);
    for (const auto& [key, ns] : base.namespaces()) objects.push_back(ns);
    for (const auto& [key, pod] : base.pods()) objects.push_back(pod);
  }
  objects.push_back(DbIngressFrom({PodPeer(Selector({{"app", "web"}})), BlockPeer("192.168.0.0/16", {"192.168.1.0/24"})}));
  objects.push_back(PolicyBuilder("shop", "out").Egress(Rule({NamespacePeer(Selector())}, {NamedPolicyPort("http"), PortRange(1000, 2000)})).Build());
  ClusterState forward;
  ClusterState backward;
  for (const ClusterObject& object : objects) forward.Apply(Upsert(object));
  for (auto it = objects.rbegin(); it != objects.rend(); ++it) backward.Apply(Upsert(*it));
  MapImage image = Compile(forward, {.node_name = "node-1"});
  EXPECT_TRUE(SameImage(image, Compile(forward, {.node_name = "node-1"})));
  EXPECT_TRUE(SameImage(image, Compile(backward, {.node_name = "node-1"})));
  EXPECT_FALSE(image.rules.empty());
  // Ids are node-independent: another node's image names the same identities and rules.
  MapImage other = Compile(forward, {.node_name = "node-2"});
  EXPECT_TRUE(testing::image_compare_internal::SameRows(
      "identities", image.identities, other.identities,
      [](const IdentityInfo& a, const IdentityInfo& b) { return a.identity == b.identity; }));
  EXPECT_EQ(image.rule_table.size(), other.rule_table.size());
  EXPECT_TRUE(testing::image_compare_internal::SameTable("ipcache", image.ipcache, other.ipcache));
}

}  // namespace
}  // namespace flatwall::compiler
