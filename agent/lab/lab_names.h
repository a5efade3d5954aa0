// The names and paths of everything one lab creates: network namespaces, interfaces, its
// state directory and the agents' bpffs roots. Every name carries the lab name, so two
// labs never collide and teardown can find leftovers by prefix alone.
//
// Not here: which pods and nodes exist (topology_plan.h); creating anything.
#ifndef FLATWALL_AGENT_LAB_LAB_NAMES_H_
#define FLATWALL_AGENT_LAB_LAB_NAMES_H_

#include <string>

#include "absl/status/status.h"

namespace flatwall::lab {

inline constexpr char kStateRoot[] = "/run/flatwall-lab";
inline constexpr char kBpffsRoot[] = "/sys/fs/bpf";
inline constexpr char kDefaultLabName[] = "default";

// OK for 1 to 16 characters of [a-z0-9]. No '-': then "fwlab-<name>-" can never be the
// start of another lab's names, which teardown relies on. InvalidArgument otherwise.
absl::Status ValidateLabName(const std::string& name);

// "node-<index>", index from 1: the node names pods use in spec.nodeName.
std::string NodeName(int index);

// The host-side veth of a pod, named as the AWS VPC CNI does: "eni" and 11 hex digits of a
// hash of "namespace/name" (14 characters; interface names hold at most 15). Stable, so
// the same pod gets the same name in every run.
std::string HostVethName(const std::string& pod_key);
// The MAC address of that veth ("02:…", locally administered), which the pod's static
// neighbour entry for its gateway points at.
std::string HostVethMac(const std::string& pod_key);

class LabNames {
 public:
  // `lab` must have passed ValidateLabName.
  explicit LabNames(std::string lab) : lab_(std::move(lab)) {}

  const std::string& lab() const { return lab_; }

  // Network namespaces: "fwlab-<lab>-fabric", "fwlab-<lab>-node-1", "fwlab-<lab>-p3".
  std::string NetnsPrefix() const;
  std::string FabricNetns() const;
  std::string NodeNetns(const std::string& node) const;
  std::string PodNetns(int index) const;

  // /run/flatwall-lab/<lab>: the plan (lab.json), the desired manifests (desired/), and
  // per node its manifest copy, agent log, pid and verdict log (nodes/<node>/).
  std::string StateDir() const;
  std::string StateFile() const;
  std::string DesiredDir() const;
  std::string NodeDir(const std::string& node) const;
  std::string NodeManifestDir(const std::string& node) const;
  // Per pod (by its namespace name): the server's log and its readiness marker.
  std::string PodLogFile(const std::string& netns) const;
  std::string PodReadyFile(const std::string& netns) const;

  // /sys/fs/bpf/flatwall-lab-<lab>-<node>: one agent's pin root.
  std::string BpffsPrefix() const;  // "flatwall-lab-<lab>-"
  std::string BpffsRoot(const std::string& node) const;

 private:
  std::string lab_;
};

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_LAB_NAMES_H_
