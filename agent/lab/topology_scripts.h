// The plan rendered as what builds it: sysctls and `ip -batch` lines per namespace. Pure,
// so the addresses, routes and names can be checked without root.
//
// Build order, because each step needs the one before: namespaces and their sysctls (the
// interface defaults must be set before the interfaces exist); the fabric (it creates
// every node's uplink); each node; per pod its veth from the node side, then the pod's
// side, then the node's /32 route to it; last the fabric's route to the pod.
//
// Not here: running them (topology_builder.h); Services (service_rules.h).
#ifndef FLATWALL_AGENT_LAB_TOPOLOGY_SCRIPTS_H_
#define FLATWALL_AGENT_LAB_TOPOLOGY_SCRIPTS_H_

#include <string>
#include <utility>
#include <vector>

#include "agent/lab/topology_plan.h"

namespace flatwall::lab {

using Sysctls = std::vector<std::pair<std::string, std::string>>;

// The fabric routes between nodes and sends no ICMP redirects (neither does a VPC router);
// nodes forward with reverse-path filtering off, as the VPC CNI sets them; no namespace
// runs duplicate address detection, so addresses are usable at once.
Sysctls FabricSysctls();
Sysctls NodeSysctls();
Sysctls PodSysctls();

// In the fabric: the bridge "vpc0" with 10.10.0.1/24 and fd00:10::1/64, and per node a
// veth "node-K" on the bridge whose peer is the node's "eth0".
std::vector<std::string> FabricScript(const TopologyPlan& plan);
// In a node: its underlay address on eth0 and default routes via the fabric.
std::vector<std::string> NodeScript(const NodePlan& node);
// In the pod's node: the pod's veth pair, host side named pod.host_veth, the other end
// created directly in the pod's namespace as "eth0".
std::vector<std::string> PodLinkScript(const PodPlan& pod);
// In the pod: its /32 (/128) addresses on eth0, default routes via 169.254.1.1 (fe80::1)
// on-link, and static neighbour entries resolving them to the host veth's MAC.
std::vector<std::string> PodScript(const PodPlan& pod);
// In the pod's node: the routes to the pod through its host veth.
std::vector<std::string> PodRouteScript(const PodPlan& pod);
// In the fabric: the routes to the pod via its node's underlay address (`replace`, so a
// pod that moved node is simply re-pointed), or their removal.
std::vector<std::string> FabricPodRoutes(const TopologyPlan& plan, const PodPlan& pod);
std::vector<std::string> FabricPodRouteRemovals(const PodPlan& pod);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_TOPOLOGY_SCRIPTS_H_
