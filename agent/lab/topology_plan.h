// The lab's topology as data: which nodes and pods exist, each namespace, interface and
// address, and the Services the nodes translate — a pure function of the cluster state
// (and of the previous plan, so that `lab apply` leaves every existing pod where it is).
//
// The network is the AWS VPC CNI's: a fabric namespace plays the VPC router (bridge
// 10.10.0.1/24 in VPC 10.10.0.0/16) and routes each pod IP to its node; node N is
// 10.10.0.(10+N) on it; pods get /32 (/128) addresses, from status.podIP(s) or allocated
// from 10.10.1.0/24, behind a per-pod veth whose host side is named "eni…".
//
// Not here: rendering the plan into ip/iptables commands (topology_scripts.h,
// service_rules.h); building it (topology_builder.h).
#ifndef FLATWALL_AGENT_LAB_TOPOLOGY_PLAN_H_
#define FLATWALL_AGENT_LAB_TOPOLOGY_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policy-compiler/cluster_state.h"
#include "policy-compiler/ip_prefix.h"
#include "policy-compiler/model.h"

namespace flatwall::lab {

inline constexpr int kMaxNodes = 32;
inline constexpr char kVpcCidr[] = "10.10.0.0/16";
inline constexpr char kPodSubnet[] = "10.10.1.0/24";
inline constexpr char kPodSubnetV6[] = "fd00:10:1::/64";
inline constexpr char kServiceSubnet[] = "10.96.0.0/16";
// The pod's default gateway, as the VPC CNI sets it: a link-local address answered by a
// static neighbour entry pointing at the host-side veth.
inline constexpr char kPodGateway[] = "169.254.1.1";
inline constexpr char kPodGatewayV6[] = "fe80::1";

struct NodePlan {
  std::string name;                   // "node-1"
  std::string netns;                  // "fwlab-<lab>-node-1"
  compiler::IpAddress underlay_ipv4;  // 10.10.0.11 for node-1
  compiler::IpAddress underlay_ipv6;  // fd00:10::11
  std::string fabric_link;            // the fabric's end of the node's uplink: "node-1"
};

struct ServedPort {
  compiler::Protocol protocol = compiler::Protocol::kTcp;  // TCP or UDP
  uint16_t port = 0;

  friend bool operator==(const ServedPort&, const ServedPort&) = default;
  friend auto operator<=>(const ServedPort&, const ServedPort&) = default;
};

struct PodPlan {
  std::string key;  // "namespace/name"
  std::string node;
  int netns_index = 0;
  std::string netns;  // "fwlab-<lab>-p<netns_index>"
  std::optional<compiler::IpAddress> ipv4;
  bool ipv4_allocated = false;  // the lab chose ipv4 (the pod had no IP)
  std::optional<compiler::IpAddress> ipv6;
  std::string host_veth;          // in the node namespace
  std::string host_veth_mac;      // the pod's gateway MAC
  std::vector<ServedPort> ports;  // the pod's TCP and UDP container ports, sorted

  // The address a peer of the same family reaches it at: IPv4 first.
  std::optional<compiler::IpAddress> AddressFor(const PodPlan& peer) const;
  friend bool operator==(const PodPlan&, const PodPlan&) = default;
};

struct ServiceBackend {
  std::string pod;  // "namespace/name"
  compiler::IpAddress ip;
  uint16_t port = 0;  // targetPort, resolved against the pod's container ports

  friend bool operator==(const ServiceBackend&, const ServiceBackend&) = default;
};

struct ServicePortPlan {
  std::string name;
  compiler::Protocol protocol = compiler::Protocol::kTcp;
  uint16_t port = 0;
  std::vector<ServiceBackend> backends;  // sorted by pod

  friend bool operator==(const ServicePortPlan&, const ServicePortPlan&) = default;
};

struct ServicePlan {
  std::string namespace_name;
  std::string name;
  compiler::IpAddress cluster_ip;  // IPv4
  // Added by the lab so `lab probe --via-service` can reach a pod that no Service of the
  // manifests has as its only backend; written to the agents' manifests like the others.
  bool generated = false;
  compiler::Labels selector;
  std::vector<std::string> backend_pods;  // the pods the selector picks, sorted
  std::vector<ServicePortPlan> ports;

  std::string key() const { return namespace_name + "/" + name; }
  friend bool operator==(const ServicePlan&, const ServicePlan&) = default;
};

struct TopologyPlan {
  std::string lab_name;
  int node_count = 0;
  std::string fabric_netns;
  std::vector<NodePlan> nodes;
  std::vector<PodPlan> pods;          // sorted by key
  std::vector<ServicePlan> services;  // sorted by key
  int next_node = 0;                  // round-robin cursor (0-based) for the next unscheduled pod
  // What the lab leaves out, for the user: host-network pods, SCTP ports, Services it
  // cannot translate.
  std::vector<std::string> notes;

  const PodPlan* FindPod(const std::string& key) const;
};

// The plan for `state` on `node_count` nodes (1..kMaxNodes). With `previous` (the plan
// the lab runs now), every pod still present keeps its node, namespace and allocated
// address unless its manifest now says otherwise, and generated Services keep their IPs.
//
// Placement: spec.nodeName "node-K" (1 <= K <= node_count); unscheduled pods round-robin.
// InvalidArgument, naming the pod or Service, for: a nodeName that is not a lab node; a pod
// address that collides with another pod, the underlay, the Service range, or is not a
// unicast address; a Service cluster IP used twice or equal to a pod or node address.
// ResourceExhausted when the pod subnet or the Service range is full.
absl::StatusOr<TopologyPlan> PlanTopology(const compiler::ClusterState& state,
                                          const std::string& lab_name, int node_count,
                                          const TopologyPlan* previous = nullptr);

// Where `pod` is reached on (protocol, port) through a Service whose only backend it is:
// the cluster IP and Service port. Manifest Services before generated ones; nullopt when
// there is none.
struct ServiceAddress {
  std::string service;  // "namespace/name"
  compiler::IpAddress ip;
  uint16_t port = 0;
};
std::optional<ServiceAddress> FindServiceFor(const TopologyPlan& plan, const std::string& pod,
                                             compiler::Protocol protocol, uint16_t port);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_TOPOLOGY_PLAN_H_
