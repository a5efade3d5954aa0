#include "agent/lab/topology_plan.h"

#include <set>
#include <string>
#include <vector>

#include "agent/lab/service_rules.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy-compiler/manifest_decoder.h"
#include "tests/lab/lab_test_util.h"
#include "tests/testing/reachability_cluster.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::lab {
namespace {

using compiler::IpAddress;
using compiler::Protocol;
using ::flatwall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

IpAddress Ip(const std::string& text) { return *IpAddress::Parse(text); }

TopologyPlan MustPlan(const std::string& yaml, int nodes = 2,
                      const TopologyPlan* previous = nullptr) {
  absl::StatusOr<TopologyPlan> plan = PlanTopology(StateFromYaml(yaml), "t", nodes, previous);
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? *plan : TopologyPlan{};
}

TEST(TopologyPlanTest, E2eClusterPodsKeepTheirNodesAndAddresses) {
  TopologyPlan plan = MustPlan(testing::E2eClusterYaml());
  ASSERT_EQ(plan.pods.size(), 9u);
  std::vector<std::string> names = testing::E2ePodNames();
  for (size_t i = 0; i < names.size(); ++i) {
    SCOPED_TRACE(names[i]);
    const PodPlan* pod = plan.FindPod(names[i]);
    ASSERT_NE(pod, nullptr);
    EXPECT_EQ(pod->node, i % 2 == 0 ? "node-1" : "node-2");
    EXPECT_EQ(pod->ipv4, Ip(testing::E2ePodIp(names[i])));
    EXPECT_FALSE(pod->ipv4_allocated);
    EXPECT_EQ(pod->ipv6, std::nullopt);
    // SCTP is left out: this kernel cannot serve it.
    EXPECT_THAT(pod->ports,
                ElementsAre(ServedPort{Protocol::kTcp, 80}, ServedPort{Protocol::kTcp, 81},
                            ServedPort{Protocol::kUdp, 80}, ServedPort{Protocol::kUdp, 81}));
  }
  EXPECT_THAT(plan.notes, ElementsAre(HasSubstr("18 SCTP container port(s) not served")));
}

TEST(TopologyPlanTest, NamesFitTheKernelsLimitsAndAreUnique) {
  TopologyPlan plan = MustPlan(testing::E2eClusterYaml());
  std::set<std::string> namespaces = {plan.fabric_netns}, veths, macs;
  for (const NodePlan& node : plan.nodes) namespaces.insert(node.netns);
  for (const PodPlan& pod : plan.pods) {
    SCOPED_TRACE(pod.key);
    namespaces.insert(pod.netns);
    veths.insert(pod.host_veth);
    macs.insert(pod.host_veth_mac);
    EXPECT_LE(pod.host_veth.size(), 15u);
    EXPECT_THAT(pod.host_veth, ::testing::MatchesRegex("eni[0-9a-f]{11}"));
    EXPECT_THAT(pod.host_veth_mac, ::testing::MatchesRegex("02(:[0-9a-f]{2}){5}"));
    EXPECT_THAT(pod.netns, ::testing::StartsWith("fwlab-t-p"));
  }
  EXPECT_EQ(namespaces.size(), 1 + 2 + 9u);
  EXPECT_EQ(veths.size(), 9u);
  EXPECT_EQ(macs.size(), 9u);
  for (const std::string& name : namespaces) EXPECT_LE(name.size(), 32u) << name;
}

TEST(TopologyPlanTest, NodesSitOnTheFabricBridgeSubnet) {
  TopologyPlan plan = MustPlan(testing::E2eClusterYaml(), 3);
  ASSERT_EQ(plan.nodes.size(), 3u);
  EXPECT_EQ(plan.fabric_netns, "fwlab-t-fabric");
  for (int k = 1; k <= 3; ++k) {
    const NodePlan& node = plan.nodes[k - 1];
    SCOPED_TRACE(node.name);
    EXPECT_EQ(node.name, "node-" + std::to_string(k));
    EXPECT_EQ(node.netns, "fwlab-t-node-" + std::to_string(k));
    EXPECT_EQ(node.underlay_ipv4, Ip("10.10.0.1" + std::to_string(k)));
    EXPECT_EQ(node.underlay_ipv6, Ip("fd00:10::1" + std::to_string(k)));
  }
}

TEST(TopologyPlanTest, PodsWithoutAddressGetTheLowestFreeOnesOfThePodSubnet) {
  TopologyPlan plan =
      MustPlan(PodYaml("x", "given", "{}", "node-1", {"10.10.1.2"}) +
               PodYaml("x", "p1", "{}", "node-1", {}) + PodYaml("x", "p2", "{}", "node-2", {}));
  EXPECT_EQ(plan.FindPod("x/p1")->ipv4, Ip("10.10.1.3"));
  EXPECT_TRUE(plan.FindPod("x/p1")->ipv4_allocated);
  EXPECT_EQ(plan.FindPod("x/p2")->ipv4, Ip("10.10.1.4"));
}

TEST(TopologyPlanTest, UnscheduledPodsAreSpreadRoundRobin) {
  std::string yaml;
  for (const char* name : {"a", "b", "c", "d", "e"}) yaml += PodYaml("x", name, "{}", "", {});
  TopologyPlan plan = MustPlan(yaml, 3);
  std::vector<std::string> nodes;
  for (const PodPlan& pod : plan.pods) nodes.push_back(pod.node);
  EXPECT_THAT(nodes, ElementsAre("node-1", "node-2", "node-3", "node-1", "node-2"));
}

TEST(TopologyPlanTest, ReplanningKeepsExistingPodsWhereTheyAre) {
  TopologyPlan first =
      MustPlan(PodYaml("x", "b", "{pod: b}", "", {}) + PodYaml("x", "c", "{pod: c}", "", {}));
  // "a" sorts first and would take b's node, namespace and address if planned afresh.
  TopologyPlan second =
      MustPlan(PodYaml("x", "a", "{pod: a}", "", {}) + PodYaml("x", "b", "{pod: b}", "", {}) +
                   PodYaml("x", "c", "{pod: c}", "", {}),
               2, &first);
  for (const char* key : {"x/b", "x/c"}) {
    SCOPED_TRACE(key);
    EXPECT_EQ(*second.FindPod(key), *first.FindPod(key));
  }
  const PodPlan* added = second.FindPod("x/a");
  EXPECT_EQ(added->netns_index, 3);
  EXPECT_EQ(added->ipv4, Ip("10.10.1.4"));
  EXPECT_EQ(added->node, "node-1");  // the round-robin goes on where it stopped
  for (const ServicePlan& service : first.services) {
    SCOPED_TRACE(service.key());
    auto it = std::find_if(second.services.begin(), second.services.end(),
                           [&](const ServicePlan& s) { return s.key() == service.key(); });
    ASSERT_NE(it, second.services.end());
    EXPECT_EQ(it->cluster_ip, service.cluster_ip);
  }
}

TEST(TopologyPlanTest, Ipv6AddressesComeFromPodIps) {
  TopologyPlan plan = MustPlan(PodYaml("x", "dual", "{}", "node-1", {"10.10.1.5", "fd00:10:1::5"}) +
                               PodYaml("x", "six", "{}", "node-2", {"fd00:10:1::6"}));
  const PodPlan* dual = plan.FindPod("x/dual");
  const PodPlan* six = plan.FindPod("x/six");
  EXPECT_EQ(dual->ipv6, Ip("fd00:10:1::5"));
  EXPECT_EQ(six->ipv4, std::nullopt);  // an IPv6 single-stack pod stays one
  EXPECT_EQ(dual->AddressFor(*six), Ip("fd00:10:1::5"));
  EXPECT_EQ(dual->AddressFor(*dual), Ip("10.10.1.5"));
}

TEST(TopologyPlanTest, HostNetworkPodsAreNotBuilt) {
  TopologyPlan plan = MustPlan(
      "apiVersion: v1\nkind: Pod\nmetadata: {namespace: x, name: h}\n"
      "spec: {hostNetwork: true, nodeName: node-1, containers: [{name: c, image: i}]}\n");
  EXPECT_THAT(plan.pods, IsEmpty());
  EXPECT_THAT(plan.notes, ElementsAre(HasSubstr("x/h uses the host network")));
}

TEST(TopologyPlanTest, RejectsWhatCannotBeBuilt) {
  struct Case {
    const char* name;
    std::string yaml;
    int nodes;
    const char* message;
  };
  std::string service_a =
      "apiVersion: v1\nkind: Service\nmetadata: {namespace: x, name: s1}\n"
      "spec: {clusterIP: 10.96.5.5, selector: {pod: a}, ports: [{port: 80}]}\n---\n";
  std::string service_b =
      "apiVersion: v1\nkind: Service\nmetadata: {namespace: x, name: s2}\n"
      "spec: {clusterIP: 10.96.5.5, selector: {pod: a}, ports: [{port: 80}]}\n---\n";
  std::string service_on_pod =
      "apiVersion: v1\nkind: Service\nmetadata: {namespace: x, name: s3}\n"
      "spec: {clusterIP: 10.10.1.9, selector: {pod: a}, ports: [{port: 80}]}\n---\n";
  std::vector<Case> cases = {
      {"node beyond the lab", PodYaml("x", "a", "{}", "node-3", {}), 2, "not a lab node"},
      {"node of another name", PodYaml("x", "a", "{}", "worker", {}), 2, "not a lab node"},
      {"shared address",
       PodYaml("x", "a", "{}", "node-1", {"10.10.1.9"}) +
           PodYaml("x", "b", "{}", "node-1", {"10.10.1.9"}),
       2, "both have address 10.10.1.9"},
      {"underlay address", PodYaml("x", "a", "{}", "node-1", {"10.10.0.12"}), 2, "underlay"},
      {"service range address", PodYaml("x", "a", "{}", "node-1", {"10.96.0.7"}), 2,
       "Service range"},
      {"loopback", PodYaml("x", "a", "{}", "node-1", {"127.0.0.2"}), 2, "loopback"},
      {"shared cluster IP", PodYaml("x", "a", "{pod: a}", "node-1", {}) + service_a + service_b, 2,
       "both have clusterIP"},
      {"cluster IP of a pod",
       PodYaml("x", "a", "{pod: a}", "node-1", {"10.10.1.9"}) + service_on_pod, 2,
       "pod or node address"},
      {"no nodes", PodYaml("x", "a", "{}", "", {}), 0, "1 to 32 nodes"},
      {"too many nodes", PodYaml("x", "a", "{}", "", {}), 33, "1 to 32 nodes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(PlanTopology(StateFromYaml(c.yaml), "t", c.nodes),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
  EXPECT_THAT(
      PlanTopology(StateFromYaml(""), "Bad-Name", 2),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lowercase letters or digits")));
}

TEST(TopologyPlanTest, FullPodSubnetIsResourceExhausted) {
  std::string yaml;
  for (int i = 0; i < 254; ++i) yaml += PodYaml("x", "p" + std::to_string(i), "{}", "", {});
  EXPECT_THAT(PlanTopology(StateFromYaml(yaml), "t", 2),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("10.10.1.0/24")));
}

constexpr char kWebService[] =
    "apiVersion: v1\nkind: Service\nmetadata: {namespace: x, name: web}\n"
    "spec:\n  clusterIP: 10.96.7.7\n  selector: {app: web}\n"
    "  ports: [{name: http, port: 80, targetPort: http}, {name: raw, port: 81, targetPort: "
    "9000}]\n---\n";

TEST(TopologyPlanTest, ServiceTargetPortNamesResolvePerBackend) {
  TopologyPlan plan = MustPlan(PodYaml("x", "w1", "{app: web}", "node-1", {"10.10.1.21"},
                                       {"{name: http, containerPort: 8080}"}) +
                               PodYaml("x", "w2", "{app: web}", "node-2", {"10.10.1.22"},
                                       {"{name: http, containerPort: 8081}"}) +
                               PodYaml("x", "other", "{app: db}", "node-2", {"10.10.1.23"},
                                       {"{name: http, containerPort: 1}"}) +
                               kWebService);
  auto web = std::find_if(plan.services.begin(), plan.services.end(),
                          [](const ServicePlan& s) { return s.key() == "x/web"; });
  ASSERT_NE(web, plan.services.end());
  EXPECT_FALSE(web->generated);
  EXPECT_EQ(web->cluster_ip, Ip("10.96.7.7"));
  EXPECT_THAT(web->backend_pods, ElementsAre("x/w1", "x/w2"));
  ASSERT_EQ(web->ports.size(), 2u);
  EXPECT_THAT(web->ports[0].backends, ElementsAre(ServiceBackend{"x/w1", Ip("10.10.1.21"), 8080},
                                                  ServiceBackend{"x/w2", Ip("10.10.1.22"), 8081}));
  EXPECT_THAT(web->ports[1].backends, ElementsAre(ServiceBackend{"x/w1", Ip("10.10.1.21"), 9000},
                                                  ServiceBackend{"x/w2", Ip("10.10.1.22"), 9000}));
}

TEST(TopologyPlanTest, PodsWithoutAServiceOfTheirOwnGetOneFromTheServiceRange) {
  TopologyPlan plan =
      MustPlan(PodYaml("x", "w1", "{app: web}", "node-1", {}) +
               PodYaml("x", "alone", "{app: db}", "node-1", {}) +
               "apiVersion: v1\nkind: Service\nmetadata: {namespace: x, name: db}\n"
               "spec: {clusterIP: 10.96.7.8, selector: {app: db}, ports: [{port: 80}]}\n---\n");
  std::vector<std::string> keys;
  for (const ServicePlan& service : plan.services) keys.push_back(service.key());
  // x/alone has x/db to itself; x/w1 has none.
  EXPECT_THAT(keys, ElementsAre("x/db", "x/fwlab-w1"));
  const ServicePlan& generated = plan.services[1];
  EXPECT_TRUE(generated.generated);
  EXPECT_EQ(generated.cluster_ip, Ip("10.96.0.100"));
  EXPECT_EQ(generated.selector, (compiler::Labels{{"app", "web"}}));
  EXPECT_THAT(generated.backend_pods, ElementsAre("x/w1"));

  std::optional<ServiceAddress> own = FindServiceFor(plan, "x/alone", Protocol::kTcp, 80);
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(own->service, "x/db");
  std::optional<ServiceAddress> lab = FindServiceFor(plan, "x/w1", Protocol::kTcp, 80);
  ASSERT_TRUE(lab.has_value());
  EXPECT_EQ(lab->ip, Ip("10.96.0.100"));
  EXPECT_EQ(FindServiceFor(plan, "x/w1", Protocol::kUdp, 80), std::nullopt);
}

TEST(TopologyPlanTest, PodsWhoseLabelsSelectOthersTooGetNoService) {
  TopologyPlan plan = MustPlan(PodYaml("x", "a", "{app: same}", "node-1", {}) +
                               PodYaml("x", "b", "{app: same}", "node-1", {}));
  EXPECT_THAT(plan.services, IsEmpty());
  EXPECT_THAT(plan.notes, ElementsAre(HasSubstr("only pod x/a"), HasSubstr("only pod x/b")));
}

TEST(TopologyPlanTest, GeneratedServiceManifestDecodesToItsPlan) {
  TopologyPlan plan = MustPlan(testing::E2eClusterYaml());
  ASSERT_EQ(plan.services.size(), 9u);
  for (const ServicePlan& service : plan.services) {
    SCOPED_TRACE(service.key());
    compiler::DecodeResult decoded =
        compiler::DecodeManifest("generated.json", GeneratedServiceManifest(service));
    ASSERT_THAT(decoded.errors, IsEmpty());
    ASSERT_EQ(decoded.objects.size(), 1u);
    const auto& object = std::get<compiler::Service>(decoded.objects[0]);
    EXPECT_EQ(object.cluster_ips, std::vector<IpAddress>{service.cluster_ip});
    EXPECT_EQ(object.selector, service.selector);
    ASSERT_EQ(object.ports.size(), service.ports.size());
    for (size_t i = 0; i < object.ports.size(); ++i) {
      EXPECT_EQ(object.ports[i].port, service.ports[i].port);
      EXPECT_EQ(object.ports[i].protocol, service.ports[i].protocol);
    }
  }
}

}  // namespace
}  // namespace flatwall::lab
