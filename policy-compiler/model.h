// The typed cluster model the compiler works on: Namespace, Pod, Service and
// NetworkPolicy, holding only the fields Flatwall uses, already validated.
//
// Not here: decoding from YAML/JSON (manifest_decoder.h), selector matching
// (selector.h), address parsing (ip_prefix.h).
#ifndef FLATWALL_POLICY_COMPILER_MODEL_H_
#define FLATWALL_POLICY_COMPILER_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "policy-compiler/ip_prefix.h"
#include "policy-compiler/label_set.h"

namespace flatwall::compiler {

// Where an object came from, for error messages and the verdict log. Objects from the
// Kubernetes API leave it empty: their kind and key say where they are.
struct SourceLocation {
  std::string file;
  int line = 0;  // 1-based line of the object's first line; 0 when unknown

  friend bool operator==(const SourceLocation&, const SourceLocation&) = default;
};

enum class Protocol : uint8_t { kTcp = 6, kUdp = 17, kSctp = 132 };

// "TCP", "UDP" or "SCTP", as the Kubernetes API spells them.
std::string_view ProtocolName(Protocol protocol);
// The inverse of ProtocolName (exact case); nullopt for anything else.
std::optional<Protocol> ParseProtocolName(std::string_view name);

struct LabelSelectorRequirement {
  enum class Operator { kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Operator op = Operator::kIn;
  std::vector<std::string> values;  // sorted, unique

  friend bool operator==(const LabelSelectorRequirement&,
                         const LabelSelectorRequirement&) = default;
};

// A metav1.LabelSelector. The empty selector (no labels, no expressions) selects all.
struct LabelSelector {
  Labels match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;

  friend bool operator==(const LabelSelector&, const LabelSelector&) = default;
};

struct Namespace {
  std::string name;
  std::string uid;
  LabelSet labels;  // always includes kubernetes.io/metadata.name=<name>
  // Only Flatwall's own (annotations.h): both decoders drop the others.
  std::map<std::string, std::string> annotations;
  SourceLocation source;

  friend bool operator==(const Namespace&, const Namespace&) = default;
};

struct ContainerPort {
  std::string name;  // empty when unnamed
  uint16_t port = 0;
  Protocol protocol = Protocol::kTcp;

  friend bool operator==(const ContainerPort&, const ContainerPort&) = default;
};

struct Pod {
  std::string namespace_name;
  std::string name;
  std::string uid;
  LabelSet labels;  // shared with the pods that carry the same labels (label_set.h)
  std::string node_name;  // empty while unscheduled
  bool host_network = false;
  std::vector<ContainerPort> ports;  // from every container
  std::vector<IpAddress> ips;        // status.podIPs (or podIP); empty while pending
  SourceLocation source;

  friend bool operator==(const Pod&, const Pod&) = default;
};

struct ServicePort {
  std::string name;
  Protocol protocol = Protocol::kTcp;
  uint16_t port = 0;
  // targetPort: a number, or the name of a container port of the backend pods.
  std::variant<uint16_t, std::string> target_port;

  friend bool operator==(const ServicePort&, const ServicePort&) = default;
};

// A v1 Service: only what kube-proxy-style translation in the lab needs.
struct Service {
  std::string namespace_name;
  std::string name;
  std::vector<IpAddress> cluster_ips;  // empty for headless
  std::optional<Labels> selector;      // absent: endpoints are managed by hand
  std::vector<ServicePort> ports;
  SourceLocation source;

  friend bool operator==(const Service&, const Service&) = default;
};

struct IpBlock {
  IpPrefix cidr;
  std::vector<IpPrefix> except;  // each strictly inside cidr

  friend bool operator==(const IpBlock&, const IpBlock&) = default;
};

// One entry of `from`/`to`. At least one member is set: ip_block alone, or either or
// both selectors (ANDed). A peer with only pod_selector means the policy's namespace.
struct PolicyPeer {
  std::optional<LabelSelector> pod_selector;
  std::optional<LabelSelector> namespace_selector;
  std::optional<IpBlock> ip_block;

  friend bool operator==(const PolicyPeer&, const PolicyPeer&) = default;
};

struct PolicyPort {
  Protocol protocol = Protocol::kTcp;
  // Absent: every port of the protocol. A number, or a named container port.
  std::optional<std::variant<uint16_t, std::string>> port;
  std::optional<uint16_t> end_port;  // only with a numeric port; >= port

  friend bool operator==(const PolicyPort&, const PolicyPort&) = default;
};

struct PolicyRule {
  // Absent (or empty) peers: every peer. Empty ports: every port and protocol.
  std::vector<PolicyPeer> peers;
  std::vector<PolicyPort> ports;

  friend bool operator==(const PolicyRule&, const PolicyRule&) = default;
};

struct NetworkPolicy {
  std::string namespace_name;
  std::string name;
  std::string uid;
  int64_t generation = 0;
  LabelSelector pod_selector;
  bool affects_ingress = false;  // policyTypes after defaulting
  bool affects_egress = false;
  std::vector<PolicyRule> ingress;
  std::vector<PolicyRule> egress;
  std::map<std::string, std::string> annotations;  // only Flatwall's own, as for Namespace
  SourceLocation source;

  friend bool operator==(const NetworkPolicy&, const NetworkPolicy&) = default;
};

using ClusterObject = std::variant<Namespace, Pod, Service, NetworkPolicy>;

// "namespace/name", or "name" for cluster-scoped objects.
std::string ObjectKey(const ClusterObject& object);
// "Namespace", "Pod", "Service" or "NetworkPolicy".
std::string_view ObjectKind(const ClusterObject& object);

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_MODEL_H_
