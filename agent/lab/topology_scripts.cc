#include "agent/lab/topology_scripts.h"

#include "absl/strings/str_cat.h"

namespace flatwall::lab {
namespace {

constexpr char kBridge[] = "vpc0";
constexpr char kFabricIpv4[] = "10.10.0.1";
constexpr char kFabricIpv6[] = "fd00:10::1";

const NodePlan& NodeOf(const TopologyPlan& plan, const PodPlan& pod) {
  for (const NodePlan& node : plan.nodes) {
    if (node.name == pod.node) return node;
  }
  return plan.nodes.front();  // unreachable: the planner only places pods on its nodes
}

Sysctls NoDad() {
  return {{"net.ipv6.conf.all.accept_dad", "0"}, {"net.ipv6.conf.default.accept_dad", "0"}};
}

Sysctls Join(Sysctls first, const Sysctls& second) {
  first.insert(first.end(), second.begin(), second.end());
  return first;
}

}  // namespace

Sysctls FabricSysctls() {
  return Join({{"net.ipv4.ip_forward", "1"},
               {"net.ipv6.conf.all.forwarding", "1"},
               {"net.ipv4.conf.all.send_redirects", "0"},
               {"net.ipv4.conf.default.send_redirects", "0"}},
              NoDad());
}

Sysctls NodeSysctls() {
  return Join({{"net.ipv4.ip_forward", "1"},
               {"net.ipv6.conf.all.forwarding", "1"},
               {"net.ipv4.conf.all.rp_filter", "0"},
               {"net.ipv4.conf.default.rp_filter", "0"},
               {"net.ipv4.conf.all.accept_redirects", "0"},
               {"net.ipv4.conf.default.accept_redirects", "0"}},
              NoDad());
}

Sysctls PodSysctls() { return NoDad(); }

std::vector<std::string> FabricScript(const TopologyPlan& plan) {
  std::vector<std::string> lines = {
      "link set lo up",
      absl::StrCat("link add ", kBridge, " type bridge"),
      absl::StrCat("addr add ", kFabricIpv4, "/24 dev ", kBridge),
      absl::StrCat("addr add ", kFabricIpv6, "/64 dev ", kBridge, " nodad"),
      absl::StrCat("link set ", kBridge, " up"),
  };
  for (const NodePlan& node : plan.nodes) {
    lines.push_back(absl::StrCat("link add ", node.fabric_link, " type veth peer name eth0 netns ",
                                 node.netns));
    lines.push_back(absl::StrCat("link set ", node.fabric_link, " master ", kBridge));
    lines.push_back(absl::StrCat("link set ", node.fabric_link, " up"));
  }
  return lines;
}

std::vector<std::string> NodeScript(const NodePlan& node) {
  return {
      "link set lo up",
      absl::StrCat("addr add ", node.underlay_ipv4.ToString(), "/24 dev eth0"),
      absl::StrCat("addr add ", node.underlay_ipv6.ToString(), "/64 dev eth0 nodad"),
      "link set eth0 up",
      absl::StrCat("route add default via ", kFabricIpv4, " dev eth0"),
      absl::StrCat("route add ::/0 via ", kFabricIpv6, " dev eth0"),
  };
}

std::vector<std::string> PodLinkScript(const PodPlan& pod) {
  return {
      absl::StrCat("link add ", pod.host_veth, " address ", pod.host_veth_mac,
                   " type veth peer name eth0 netns ", pod.netns),
      absl::StrCat("link set ", pod.host_veth, " up"),
  };
}

std::vector<std::string> PodScript(const PodPlan& pod) {
  std::vector<std::string> lines = {"link set lo up"};
  if (pod.ipv4) lines.push_back(absl::StrCat("addr add ", pod.ipv4->ToString(), "/32 dev eth0"));
  if (pod.ipv6) {
    lines.push_back(absl::StrCat("addr add ", pod.ipv6->ToString(), "/128 dev eth0 nodad"));
  }
  lines.push_back("link set eth0 up");
  if (pod.ipv4) {
    lines.push_back(absl::StrCat("route add default via ", kPodGateway, " dev eth0 onlink"));
    lines.push_back(absl::StrCat("neigh replace ", kPodGateway, " lladdr ", pod.host_veth_mac,
                                 " dev eth0 nud permanent"));
  }
  if (pod.ipv6) {
    lines.push_back(absl::StrCat("route add ::/0 via ", kPodGatewayV6, " dev eth0"));
    lines.push_back(absl::StrCat("neigh replace ", kPodGatewayV6, " lladdr ", pod.host_veth_mac,
                                 " dev eth0 nud permanent"));
  }
  return lines;
}

std::vector<std::string> PodRouteScript(const PodPlan& pod) {
  std::vector<std::string> lines;
  if (pod.ipv4) {
    lines.push_back(
        absl::StrCat("route add ", pod.ipv4->ToString(), "/32 dev ", pod.host_veth, " scope link"));
  }
  if (pod.ipv6) {
    // The pod's IPv6 gateway: the host side answers for fe80::1 itself.
    lines.push_back(absl::StrCat("addr add ", kPodGatewayV6, "/64 dev ", pod.host_veth, " nodad"));
    lines.push_back(absl::StrCat("route add ", pod.ipv6->ToString(), "/128 dev ", pod.host_veth));
  }
  return lines;
}

std::vector<std::string> FabricPodRoutes(const TopologyPlan& plan, const PodPlan& pod) {
  const NodePlan& node = NodeOf(plan, pod);
  std::vector<std::string> lines;
  if (pod.ipv4) {
    lines.push_back(absl::StrCat("route replace ", pod.ipv4->ToString(), "/32 via ",
                                 node.underlay_ipv4.ToString(), " dev ", kBridge));
  }
  if (pod.ipv6) {
    lines.push_back(absl::StrCat("route replace ", pod.ipv6->ToString(), "/128 via ",
                                 node.underlay_ipv6.ToString(), " dev ", kBridge));
  }
  return lines;
}

std::vector<std::string> FabricPodRouteRemovals(const PodPlan& pod) {
  std::vector<std::string> lines;
  if (pod.ipv4) lines.push_back(absl::StrCat("route del ", pod.ipv4->ToString(), "/32"));
  if (pod.ipv6) lines.push_back(absl::StrCat("route del ", pod.ipv6->ToString(), "/128"));
  return lines;
}

}  // namespace flatwall::lab
