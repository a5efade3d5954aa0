// Services as kube-proxy's iptables mode translates them, rendered from the plan: the whole
// nat table of a node namespace as iptables-restore input (the table belongs to the lab,
// so each update replaces it atomically), and the Services the lab adds as manifests.
//
// Rules: chain FWLAB-SERVICES, jumped to from nat PREROUTING (traffic from pods) and
// OUTPUT (from the node itself); per Service port `-d <clusterIP> -p tcp|udp --dport <port>
// -j DNAT --to-destination <backend IP>:<targetPort>`, several backends chosen at random
// with kube-proxy's falling probabilities 1/n, 1/(n-1), …, 1; in nat POSTROUTING, a pod
// reaching itself through a Service is masqueraded (hairpin), as kube-proxy does.
//
// Not here: running iptables-restore (topology_builder.h); choosing backends
// (topology_plan.h).
#ifndef FLATWALL_AGENT_LAB_SERVICE_RULES_H_
#define FLATWALL_AGENT_LAB_SERVICE_RULES_H_

#include <string>

#include "agent/lab/topology_plan.h"

namespace flatwall::lab {

inline constexpr char kServicesChain[] = "FWLAB-SERVICES";

// iptables-restore input for the nat table of every node namespace.
std::string ServiceNatTable(const TopologyPlan& plan);

// A generated Service (ServicePlan::generated) as a v1 Service manifest in JSON.
std::string GeneratedServiceManifest(const ServicePlan& service);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_SERVICE_RULES_H_
