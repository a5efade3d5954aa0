// Terse builders for the compiler's model objects (namespaces, pods, policies, peers,
// ports) and cluster events, so compiler tests state a cluster in a few lines without
// going through the YAML decoder. Policy types default as the API server defaults them:
// Ingress always, Egress when egress rules are given, unless set explicitly.
//
// Not here: decoding manifests (policy-compiler/manifest_decoder.h).
#ifndef FLATWALL_TESTS_TESTING_MODEL_BUILDERS_H_
#define FLATWALL_TESTS_TESTING_MODEL_BUILDERS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy-compiler/cluster_state.h"
#include "policy-compiler/ip_prefix.h"
#include "policy-compiler/model.h"

namespace flatwall::testing {

using compiler::ClusterEvent;
using compiler::ClusterObject;
using compiler::IpAddress;
using compiler::IpPrefix;
using compiler::Labels;
using compiler::LabelSelector;
using compiler::LabelSelectorRequirement;
using compiler::NetworkPolicy;
using compiler::PolicyPeer;
using compiler::PolicyPort;
using compiler::PolicyRule;
using compiler::Protocol;

// Parses a literal the test knows to be valid.
inline IpAddress Ip(const std::string& text) { return *IpAddress::Parse(text); }
inline IpPrefix Cidr(const std::string& text) { return *IpPrefix::Parse(text); }

// A namespace with `labels` plus kubernetes.io/metadata.name=<name>, as the API sets it.
inline compiler::Namespace MakeNamespace(const std::string& name, Labels labels = {}) {
  labels[compiler::kNamespaceNameLabel] = name;
  return compiler::Namespace{name, "uid-ns-" + name, std::move(labels), {}, {}};
}

class PodBuilder {
 public:
  // Scheduled on "node-1", no IPs, no labels, no ports until set.
  PodBuilder(const std::string& namespace_name, const std::string& name) {
    pod_.namespace_name = namespace_name;
    pod_.name = name;
    pod_.uid = "uid-pod-" + namespace_name + "-" + name;
    pod_.node_name = "node-1";
  }
  PodBuilder& Labels(compiler::Labels labels) {
    pod_.labels = std::move(labels);
    return *this;
  }
  PodBuilder& Ips(const std::vector<std::string>& ips) {
    pod_.ips.clear();
    for (const std::string& ip : ips) pod_.ips.push_back(Ip(ip));
    return *this;
  }
  PodBuilder& Node(const std::string& node) {
    pod_.node_name = node;
    return *this;
  }
  PodBuilder& HostNetwork() {
    pod_.host_network = true;
    return *this;
  }
  PodBuilder& NamedPort(const std::string& name, uint16_t port, Protocol protocol = Protocol::kTcp) {
    pod_.ports.push_back({name, port, protocol});
    return *this;
  }
  compiler::Pod Build() const { return pod_; }
  operator compiler::Pod() const { return pod_; }  // NOLINT: builder converts implicitly

 private:
  compiler::Pod pod_;
};

inline LabelSelector Selector(Labels match_labels = {},
                              std::vector<LabelSelectorRequirement> expressions = {}) {
  return LabelSelector{std::move(match_labels), std::move(expressions)};
}
inline LabelSelectorRequirement In(const std::string& key, std::vector<std::string> values) {
  return {key, LabelSelectorRequirement::Operator::kIn, std::move(values)};
}
inline LabelSelectorRequirement NotIn(const std::string& key, std::vector<std::string> values) {
  return {key, LabelSelectorRequirement::Operator::kNotIn, std::move(values)};
}
inline LabelSelectorRequirement Exists(const std::string& key) {
  return {key, LabelSelectorRequirement::Operator::kExists, {}};
}
inline LabelSelectorRequirement DoesNotExist(const std::string& key) {
  return {key, LabelSelectorRequirement::Operator::kDoesNotExist, {}};
}

// Peers: podSelector only (the policy's namespace), namespaceSelector only (every pod of
// the matching namespaces), both (ANDed), or an ipBlock.
inline PolicyPeer PodPeer(LabelSelector pods) { return {std::move(pods), std::nullopt, std::nullopt}; }
inline PolicyPeer NamespacePeer(LabelSelector namespaces) {
  return {std::nullopt, std::move(namespaces), std::nullopt};
}
inline PolicyPeer PodInNamespacePeer(LabelSelector pods, LabelSelector namespaces) {
  return {std::move(pods), std::move(namespaces), std::nullopt};
}
inline PolicyPeer BlockPeer(const std::string& cidr, const std::vector<std::string>& except = {}) {
  compiler::IpBlock block{Cidr(cidr), {}};
  for (const std::string& prefix : except) block.except.push_back(Cidr(prefix));
  return {std::nullopt, std::nullopt, std::move(block)};
}

// Ports: a number, a range [port, end_port], a whole protocol, or a named port.
inline PolicyPort Port(uint16_t port, Protocol protocol = Protocol::kTcp) {
  return {protocol, port, std::nullopt};
}
inline PolicyPort PortRange(uint16_t port, uint16_t end_port, Protocol protocol = Protocol::kTcp) {
  return {protocol, port, end_port};
}
inline PolicyPort AllPortsOf(Protocol protocol) { return {protocol, std::nullopt, std::nullopt}; }
inline PolicyPort NamedPolicyPort(const std::string& name, Protocol protocol = Protocol::kTcp) {
  return {protocol, name, std::nullopt};
}

inline PolicyRule Rule(std::vector<PolicyPeer> peers, std::vector<PolicyPort> ports = {}) {
  return {std::move(peers), std::move(ports)};
}

class PolicyBuilder {
 public:
  // Selects every pod of the namespace until Select() says otherwise.
  PolicyBuilder(const std::string& namespace_name, const std::string& name) {
    policy_.namespace_name = namespace_name;
    policy_.name = name;
    policy_.uid = "uid-np-" + namespace_name + "-" + name;
    policy_.generation = 1;
  }
  PolicyBuilder& Select(LabelSelector pods) {
    policy_.pod_selector = std::move(pods);
    return *this;
  }
  PolicyBuilder& Ingress(PolicyRule rule) {
    policy_.ingress.push_back(std::move(rule));
    return *this;
  }
  PolicyBuilder& Egress(PolicyRule rule) {
    policy_.egress.push_back(std::move(rule));
    return *this;
  }
  PolicyBuilder& Annotation(const std::string& key, const std::string& value) {
    policy_.annotations[key] = value;
    return *this;
  }
  // policyTypes as written in the spec.
  PolicyBuilder& Types(bool ingress, bool egress) {
    types_ = {ingress, egress};
    return *this;
  }
  NetworkPolicy Build() const {
    NetworkPolicy policy = policy_;
    if (types_.has_value()) {
      policy.affects_ingress = types_->first;
      policy.affects_egress = types_->second;
    } else {
      policy.affects_ingress = true;
      policy.affects_egress = !policy.egress.empty();
    }
    return policy;
  }
  operator NetworkPolicy() const { return Build(); }  // NOLINT: builder converts implicitly

 private:
  NetworkPolicy policy_;
  std::optional<std::pair<bool, bool>> types_;
};

inline ClusterEvent Upsert(ClusterObject object) {
  return ClusterEvent{ClusterEvent::kUpsert, std::move(object)};
}
inline ClusterEvent Delete(ClusterObject object) {
  return ClusterEvent{ClusterEvent::kDelete, std::move(object)};
}

}  // namespace flatwall::testing

#endif  // FLATWALL_TESTS_TESTING_MODEL_BUILDERS_H_
