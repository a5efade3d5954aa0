#include "agent/lab/topology_scripts.h"

#include <string>
#include <vector>

#include "agent/lab/service_rules.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/lab/lab_test_util.h"
#include "tests/testing/reachability_cluster.h"

namespace flatwall::lab {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TopologyPlan MustPlan(const std::string& yaml) {
  absl::StatusOr<TopologyPlan> plan = PlanTopology(StateFromYaml(yaml), "t", 2);
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? *plan : TopologyPlan{};
}

TEST(TopologyScriptsTest, FabricBridgesTheNodeUplinks) {
  TopologyPlan plan = MustPlan(testing::E2eClusterYaml());
  std::vector<std::string> lines = FabricScript(plan);
  EXPECT_THAT(lines, Contains("addr add 10.10.0.1/24 dev vpc0"));
  EXPECT_THAT(lines, Contains("link add node-2 type veth peer name eth0 netns fwlab-t-node-2"));
  EXPECT_THAT(lines, Contains("link set node-2 master vpc0"));
}

TEST(TopologyScriptsTest, NodesRouteEverythingElseThroughTheFabric) {
  TopologyPlan plan = MustPlan(testing::E2eClusterYaml());
  EXPECT_THAT(NodeScript(plan.nodes[1]),
              ElementsAre("link set lo up", "addr add 10.10.0.12/24 dev eth0",
                          "addr add fd00:10::12/64 dev eth0 nodad", "link set eth0 up",
                          "route add default via 10.10.0.1 dev eth0",
                          "route add ::/0 via fd00:10::1 dev eth0"));
}

TEST(TopologyScriptsTest, PodsAreWiredAsTheVpcCniWiresThem) {
  TopologyPlan plan = MustPlan(testing::E2eClusterYaml());
  const PodPlan& pod = *plan.FindPod("y/b");  // 10.10.1.22 on node-1
  const std::string veth = pod.host_veth, mac = pod.host_veth_mac;
  EXPECT_THAT(PodLinkScript(pod), ElementsAre("link add " + veth + " address " + mac +
                                                  " type veth peer name eth0 netns " + pod.netns,
                                              "link set " + veth + " up"));
  EXPECT_THAT(PodScript(pod),
              ElementsAre("link set lo up", "addr add 10.10.1.22/32 dev eth0", "link set eth0 up",
                          "route add default via 169.254.1.1 dev eth0 onlink",
                          "neigh replace 169.254.1.1 lladdr " + mac + " dev eth0 nud permanent"));
  EXPECT_THAT(PodRouteScript(pod),
              ElementsAre("route add 10.10.1.22/32 dev " + veth + " scope link"));
  EXPECT_THAT(FabricPodRoutes(plan, pod),
              ElementsAre("route replace 10.10.1.22/32 via 10.10.0.11 dev vpc0"));
  EXPECT_THAT(FabricPodRouteRemovals(pod), ElementsAre("route del 10.10.1.22/32"));
}

TEST(TopologyScriptsTest, Ipv6PodsGetALinkLocalGatewayOnTheirVeth) {
  TopologyPlan plan = MustPlan(PodYaml("x", "six", "{}", "node-2", {"fd00:10:1::6"}));
  const PodPlan& pod = plan.pods[0];
  EXPECT_THAT(PodScript(pod), Contains("addr add fd00:10:1::6/128 dev eth0 nodad"));
  EXPECT_THAT(PodScript(pod), Contains("route add ::/0 via fe80::1 dev eth0"));
  EXPECT_THAT(PodScript(pod), Not(Contains(HasSubstr("169.254.1.1"))));
  EXPECT_THAT(PodRouteScript(pod),
              ElementsAre("addr add fe80::1/64 dev " + pod.host_veth + " nodad",
                          "route add fd00:10:1::6/128 dev " + pod.host_veth));
  EXPECT_THAT(FabricPodRoutes(plan, pod),
              ElementsAre("route replace fd00:10:1::6/128 via fd00:10::12 dev vpc0"));
}

TEST(TopologyScriptsTest, NodesForwardWithoutReversePathFilter) {
  Sysctls node = NodeSysctls();
  EXPECT_THAT(node, Contains(std::pair<std::string, std::string>("net.ipv4.ip_forward", "1")));
  EXPECT_THAT(node,
              Contains(std::pair<std::string, std::string>("net.ipv4.conf.all.rp_filter", "0")));
  EXPECT_THAT(
      node, Contains(std::pair<std::string, std::string>("net.ipv4.conf.default.rp_filter", "0")));
  EXPECT_THAT(FabricSysctls(), Contains(std::pair<std::string, std::string>(
                                   "net.ipv4.conf.all.send_redirects", "0")));
}

TEST(ServiceRulesTest, EveryServicePortIsTranslatedToItsBackends) {
  TopologyPlan plan =
      MustPlan(PodYaml("x", "w1", "{app: web}", "node-1", {"10.10.1.21"},
                       {"{name: http, containerPort: 8080}"}) +
               PodYaml("x", "w2", "{app: web}", "node-2", {"10.10.1.22"},
                       {"{name: http, containerPort: 8081}"}) +
               "apiVersion: v1\nkind: Service\nmetadata: {namespace: x, name: web}\n"
               "spec: {clusterIP: 10.96.7.7, selector: {app: web}, "
               "ports: [{name: http, port: 80, targetPort: http}]}\n");
  std::string table = ServiceNatTable(plan);
  EXPECT_THAT(table, HasSubstr("*nat\n"));
  EXPECT_THAT(table, HasSubstr("-A PREROUTING -j FWLAB-SERVICES\n-A OUTPUT -j FWLAB-SERVICES\n"));
  EXPECT_THAT(
      table,
      HasSubstr("-A FWLAB-SERVICES -d 10.96.7.7/32 -p tcp -m tcp --dport 80 -m comment --comment "
                "\"x/web:http\" -m statistic --mode random --probability 0.50000 -j DNAT "
                "--to-destination 10.10.1.21:8080\n"
                "-A FWLAB-SERVICES -d 10.96.7.7/32 -p tcp -m tcp --dport 80 -m comment --comment "
                "\"x/web:http\" -j DNAT --to-destination 10.10.1.22:8081\n"));
  EXPECT_THAT(table, HasSubstr("-A POSTROUTING -s 10.10.1.21/32 -d 10.10.1.21/32 -m conntrack "
                               "--ctstate DNAT -m comment --comment \"hairpin\" -j MASQUERADE\n"));
  EXPECT_THAT(table, ::testing::EndsWith("COMMIT\n"));
}

TEST(ServiceRulesTest, GeneratedServicesCoverEveryServedPort) {
  TopologyPlan plan = MustPlan(testing::E2eClusterYaml());
  std::string table = ServiceNatTable(plan);
  for (const ServicePlan& service : plan.services) {
    SCOPED_TRACE(service.key());
    const PodPlan& pod = *plan.FindPod(service.backend_pods[0]);
    for (const char* protocol : {"tcp", "udp"}) {
      for (int port : {80, 81}) {
        EXPECT_THAT(table, HasSubstr("-d " + service.cluster_ip.ToString() + "/32 -p " + protocol +
                                     " -m " + protocol + " --dport " + std::to_string(port)));
        EXPECT_THAT(table, HasSubstr("--to-destination " + pod.ipv4->ToString() + ":" +
                                     std::to_string(port)));
      }
    }
  }
}

}  // namespace
}  // namespace flatwall::lab
