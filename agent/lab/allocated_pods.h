// Pods the lab gave an address to: their manifests said nothing of an IP (a real cluster's
// CNI would fill in status.podIP), so the copies the agents read are rewritten with the
// address the lab allocated — otherwise the agents would know the pod without an IP and
// enforce nothing for it.
//
// Not here: allocating the addresses (topology_plan.h), writing the files (lab.cc).
#ifndef FLATWALL_AGENT_LAB_ALLOCATED_PODS_H_
#define FLATWALL_AGENT_LAB_ALLOCATED_PODS_H_

#include <map>
#include <string>

#include "agent/lab/manifest_units.h"
#include "agent/lab/topology_plan.h"

namespace flatwall::lab {

// The pod as a v1 Pod JSON manifest with status.podIP/podIPs set from `plan`: the fields
// the agents read (metadata, labels, nodeName, hostNetwork, container ports).
std::string PodManifestWithAddresses(const compiler::Pod& pod, const PodPlan& plan);

// Replaces, in `files` (file name -> text, the desired units), every unit that holds just
// one pod whose address the lab allocated with PodManifestWithAddresses ("pod.x.a.yaml"
// becomes "pod.x.a.json"). A List holding such pods is left as it is: give pods inside a
// List their IPs in the manifest.
void AddAllocatedAddresses(const DesiredManifests& desired, const TopologyPlan& plan,
                           std::map<std::string, std::string>& files);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_ALLOCATED_PODS_H_
