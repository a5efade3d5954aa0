// Building the plan's namespaces, interfaces, routes and Service rules, and changing them
// pod by pod as `lab apply` needs. Everything is created inside the lab's own namespaces
// (veth ends are created directly in their target namespace); nothing touches the
// caller's network namespace.
//
// Not here: the pod servers and agents (server_launcher.h, agent_launcher.h); tearing the
// whole lab down (teardown.h).
#ifndef FLATWALL_AGENT_LAB_TOPOLOGY_BUILDER_H_
#define FLATWALL_AGENT_LAB_TOPOLOGY_BUILDER_H_

#include <vector>

#include "absl/status/status.h"
#include "agent/lab/topology_plan.h"

namespace flatwall::lab {

// The fabric and node namespaces with their underlay. Internal (with the failing
// command) when a step fails; what was built stays for teardown to remove.
absl::Status BuildFabricAndNodes(const TopologyPlan& plan);

// Each pod's namespace, veth pair, addresses and routes, and the fabric's routes to it.
// The pods' nodes must exist. Internal when a step fails.
absl::Status AddPods(const TopologyPlan& plan, const std::vector<const PodPlan*>& pods);

// Stops the processes in each pod's namespace, deletes its veth pair and namespace and
// the fabric's routes to it. Goes on past errors and returns the first.
absl::Status RemovePods(const TopologyPlan& plan, const std::vector<const PodPlan*>& pods);

// Replaces the nat table of every node namespace with the plan's Service rules
// (service_rules.h). Internal with iptables-restore's message on failure.
absl::Status ApplyServiceRules(const TopologyPlan& plan);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_TOPOLOGY_BUILDER_H_
