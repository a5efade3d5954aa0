// The flat-network lab: the AWS VPC CNI topology built from network namespaces on this
// machine — a fabric namespace as the VPC router, N node namespaces, one namespace per
// pod with a server answering on its container ports, kube-proxy-style Service rules in
// every node, and optionally one Flatwall agent per node — driven by Kubernetes manifests.
// What `flatwall lab up|apply|probe|down` run.
//
// A lab's desired state is the union of the manifests given to `up` and later `apply`
// (a re-applied object replaces the earlier one); `apply --delete` removes objects.
// One command at a time per lab; different labs (different names) are independent.
//
// Not here: the command line (agent/cli/command_lab.cc); the parts (see lab_names.h,
// topology_plan.h, topology_builder.h, server_launcher.h, agent_launcher.h, prober.h,
// teardown.h).
#ifndef FLATWALL_AGENT_LAB_LAB_H_
#define FLATWALL_AGENT_LAB_LAB_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/lab/lab_names.h"
#include "agent/lab/lab_state.h"
#include "agent/lab/prober.h"
#include "agent/lab/teardown.h"
#include "agent/lab/topology_plan.h"

namespace flatwall::lab {

struct UpOptions {
  std::string name = kDefaultLabName;
  int nodes = 2;
  bool agents = true;
  // The agent binary; empty: DefaultAgentPath(flatwall_binary).
  std::string agent_binary;
  // The `flatwall` binary, which runs each pod's server (`flatwall lab serve`).
  std::string flatwall_binary;
  std::vector<std::string> files;  // manifest files or directories
};

// Builds the lab and returns its plan once every server (and agent) is ready.
// PermissionDenied when not root; FailedPrecondition when a lab of that name exists;
// NotFound for a missing file or agent binary (checked before anything is built);
// InvalidArgument for invalid manifests or a plan that cannot be built (pod on an unknown
// node, clashing addresses). When building fails half-way, everything built so far is
// torn down again and the error returned.
absl::StatusOr<TopologyPlan> LabUp(const UpOptions& options);

struct ApplyOptions {
  std::string name = kDefaultLabName;
  std::vector<std::string> files;         // objects to add or replace
  std::vector<std::string> delete_files;  // objects to remove (matched by kind and name)
};

struct ApplyReport {
  std::vector<std::string> pods_added;      // including pods rebuilt (new node or address)
  std::vector<std::string> pods_removed;    // including pods rebuilt
  std::vector<std::string> pods_restarted;  // same place, new ports: the server restarted
  TopologyPlan plan;
};

// Changes a running lab: writes new and changed manifests into every node's manifest
// directory (the agents watch it), builds new pods, removes deleted ones, restarts the
// servers of pods whose ports changed, and rewrites the Service rules, then waits until
// every running agent enforces the new manifests (so a probe right after sees the change;
// DeadlineExceeded after 10 s per agent) before removing deleted pods. Pods that stay
// keep their namespace, veth and address. NotFound when the lab is not up (or a file is
// missing, or a deleted object is not in the lab); InvalidArgument / FailedPrecondition as
// for LabUp and DesiredManifests; Internal when a build step fails — the lab may then be
// half-changed: tear it down and build it again.
absl::StatusOr<ApplyReport> LabApply(const ApplyOptions& options);

// The running lab's state. NotFound when it is not up.
absl::StatusOr<LabState> LabStatus(const std::string& name);

// ProbeAllPairs on the running lab. NotFound when it is not up.
absl::StatusOr<std::vector<ProbeResult>> LabProbe(const std::string& name,
                                                  const ProbeOptions& options);

// TearDownLab: removes everything the lab made, running or crashed; OK with nothing there.
absl::StatusOr<TeardownReport> LabDown(const std::string& name);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_LAB_H_
