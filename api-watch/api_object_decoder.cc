#include "api-watch/api_object_decoder.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy-compiler/annotations.h"
#include "policy-compiler/cluster_state.h"
#include "policy-compiler/internal/api_defaults.h"
#include "policy-compiler/internal/name_validation.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::apiwatch {
namespace {

using compiler::ClusterObject;
using compiler::IpAddress;
using compiler::IpPrefix;
using compiler::Labels;
using compiler::Protocol;
using nlohmann::json;

// A value of the object being decoded together with its field path, so that every error
// can say where it is. A Node is "present" unless it is missing or null (Go decodes null
// as the zero value, so null and absent mean the same).
class Node {
 public:
  Node(const json* value, std::string path) : value_(value), path_(std::move(path)) {}

  bool present() const { return value_ != nullptr && !value_->is_null(); }
  const json& value() const { return *value_; }
  const std::string& path() const { return path_; }

  // A member; missing when this is not an object or has no such key (a non-object is
  // reported by whoever expects the object, see ExpectObject).
  Node operator[](const char* key) const {
    std::string path = path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
    if (!present() || !value_->is_object()) return Node(nullptr, std::move(path));
    auto it = value_->find(key);
    return Node(it == value_->end() ? nullptr : &*it, std::move(path));
  }

  absl::Status Error(absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", message));
  }

  absl::Status TypeError(absl::string_view expected) const {
    std::string got = value_->dump();
    if (got.size() > 40) got = absl::StrCat(got.substr(0, 37), "...");
    return Error(absl::StrCat("must be ", expected, ", got ", got));
  }

 private:
  const json* value_;
  std::string path_;
};

absl::Status ExpectObject(const Node& node) {
  if (node.present() && !node.value().is_object()) return node.TypeError("an object");
  return absl::OkStatus();
}

// The items of a list with their paths; empty when absent.
absl::StatusOr<std::vector<Node>> Items(const Node& node) {
  std::vector<Node> items;
  if (!node.present()) return items;
  if (!node.value().is_array()) return node.TypeError("a list");
  items.reserve(node.value().size());
  for (size_t i = 0; i < node.value().size(); ++i) {
    items.emplace_back(&node.value()[i], absl::StrCat(node.path(), "[", i, "]"));
  }
  return items;
}

// nullopt when absent.
absl::StatusOr<std::optional<std::string>> ReadString(const Node& node) {
  if (!node.present()) return std::nullopt;
  if (!node.value().is_string()) return node.TypeError("a string");
  return node.value().get<std::string>();
}

absl::StatusOr<std::string> ReadRequiredString(const Node& node) {
  FW_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadString(node));
  if (!text || text->empty()) return node.Error("required");
  return std::move(*text);
}

absl::StatusOr<bool> ReadBool(const Node& node) {
  if (!node.present()) return false;
  if (!node.value().is_boolean()) return node.TypeError("a boolean");
  return node.value().get<bool>();
}

// nullopt when absent.
absl::StatusOr<std::optional<int64_t>> ReadInt(const Node& node) {
  if (!node.present()) return std::nullopt;
  const json& value = node.value();
  if (value.is_number_unsigned() && value.get<uint64_t>() > INT64_MAX) {
    return node.TypeError("a 64-bit integer");
  }
  if (!value.is_number_integer()) return node.TypeError("an integer");
  return value.get<int64_t>();
}

absl::StatusOr<uint16_t> CheckPortNumber(const Node& node, int64_t number) {
  if (number < 1 || number > 65535) {
    return node.Error(absl::StrCat("invalid value ", number, ": must be between 1 and 65535"));
  }
  return static_cast<uint16_t>(number);
}

absl::StatusOr<uint16_t> ReadRequiredPort(const Node& node) {
  FW_ASSIGN_OR_RETURN(std::optional<int64_t> number, ReadInt(node));
  if (!number) return node.Error("required");
  return CheckPortNumber(node, *number);
}

// An IntOrString port: a number 1-65535 or an IANA_SVC_NAME. nullopt when absent.
absl::StatusOr<std::optional<std::variant<uint16_t, std::string>>> ReadPortNumberOrName(
    const Node& node) {
  if (!node.present()) return std::nullopt;
  if (node.value().is_string()) {
    std::string name = node.value().get<std::string>();
    if (absl::Status status = compiler::internal::ValidatePortName(name); !status.ok()) {
      return node.Error(
          absl::StrCat("invalid port name ", node.value().dump(), ": ", status.message()));
    }
    return std::variant<uint16_t, std::string>(std::move(name));
  }
  FW_ASSIGN_OR_RETURN(std::optional<int64_t> number, ReadInt(node));
  FW_ASSIGN_OR_RETURN(uint16_t port, CheckPortNumber(node, *number));
  return std::variant<uint16_t, std::string>(port);
}

// TCP when absent, as the API server defaults it.
absl::StatusOr<Protocol> ReadProtocol(const Node& node) {
  FW_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadString(node));
  if (!text) return Protocol::kTcp;
  std::optional<Protocol> protocol = compiler::ParseProtocolName(*text);
  if (!protocol) return node.Error(absl::StrCat("unsupported value \"", *text, "\""));
  return *protocol;
}

// A map of strings (labels, annotations, a service selector). The API server has checked
// the key and value grammars; only the types are checked here.
absl::StatusOr<std::map<std::string, std::string>> ReadStringMap(const Node& node) {
  std::map<std::string, std::string> result;
  if (!node.present()) return result;
  if (!node.value().is_object()) return node.TypeError("a map of strings");
  for (const auto& [key, value] : node.value().items()) {
    if (value.is_null()) {
      result.emplace(key, "");
    } else if (!value.is_string()) {
      return Node(&value, absl::StrCat(node.path(), "[", key, "]")).TypeError("a string");
    } else {
      result.emplace(key, value.get<std::string>());
    }
  }
  return result;
}

// Only the annotations Flatwall reads; the model keeps no others. Their values are not
// checked here: the API server accepted the object, and a typo in a logging switch must
// not stop a policy from being enforced (LogsAllowedFlows reads anything but "true" as
// off; `flatwall validate` on the manifest names the bad value).
absl::StatusOr<std::map<std::string, std::string>> ReadFlatwallAnnotations(const Node& node) {
  absl::StatusOr<std::map<std::string, std::string>> all = ReadStringMap(node);
  if (!all.ok()) return all.status();
  std::erase_if(*all,
                [](const auto& entry) { return !compiler::IsFlatwallAnnotation(entry.first); });
  return all;
}

absl::Status AddIp(const Node& node, std::vector<IpAddress>& ips) {
  FW_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadString(node));
  if (!text || text->empty()) return absl::OkStatus();
  absl::StatusOr<IpAddress> address = IpAddress::Parse(*text);
  if (!address.ok()) return node.Error(address.status().message());
  if (std::find(ips.begin(), ips.end(), *address) == ips.end()) ips.push_back(*address);
  return absl::OkStatus();
}

struct Meta {
  std::string name;
  std::string namespace_name;  // empty for cluster-scoped kinds
  std::string uid;
  int64_t generation = 0;
};

absl::StatusOr<Meta> ReadMeta(ResourceKind kind, const Node& metadata) {
  FW_RETURN_IF_ERROR(ExpectObject(metadata));
  Meta meta;
  FW_ASSIGN_OR_RETURN(meta.name, ReadRequiredString(metadata["name"]));
  if (kind != ResourceKind::kNamespace) {
    FW_ASSIGN_OR_RETURN(meta.namespace_name, ReadRequiredString(metadata["namespace"]));
  }
  FW_ASSIGN_OR_RETURN(std::optional<std::string> uid, ReadString(metadata["uid"]));
  if (uid) meta.uid = std::move(*uid);
  FW_ASSIGN_OR_RETURN(std::optional<int64_t> generation, ReadInt(metadata["generation"]));
  meta.generation = generation.value_or(0);
  return meta;
}

absl::StatusOr<compiler::LabelSelectorRequirement> ReadRequirement(const Node& node) {
  using Operator = compiler::LabelSelectorRequirement::Operator;
  static constexpr std::pair<std::string_view, Operator> kOperators[] = {
      {"In", Operator::kIn},
      {"NotIn", Operator::kNotIn},
      {"Exists", Operator::kExists},
      {"DoesNotExist", Operator::kDoesNotExist}};
  FW_RETURN_IF_ERROR(ExpectObject(node));
  compiler::LabelSelectorRequirement requirement;
  FW_ASSIGN_OR_RETURN(requirement.key, ReadRequiredString(node["key"]));
  Node op = node["operator"];
  FW_ASSIGN_OR_RETURN(std::string op_name, ReadRequiredString(op));
  auto found = std::find_if(std::begin(kOperators), std::end(kOperators),
                            [&](const auto& entry) { return entry.first == op_name; });
  if (found == std::end(kOperators)) {
    return op.Error(absl::StrCat("unsupported value \"", op_name, "\""));
  }
  requirement.op = found->second;
  Node values = node["values"];
  FW_ASSIGN_OR_RETURN(std::vector<Node> items, Items(values));
  for (const Node& item : items) {
    FW_ASSIGN_OR_RETURN(std::optional<std::string> value, ReadString(item));
    requirement.values.push_back(value.value_or(""));
  }
  std::sort(requirement.values.begin(), requirement.values.end());
  requirement.values.erase(std::unique(requirement.values.begin(), requirement.values.end()),
                           requirement.values.end());
  bool is_set_op = requirement.op == Operator::kIn || requirement.op == Operator::kNotIn;
  if (is_set_op == requirement.values.empty()) {
    return values.Error(is_set_op ? "must be non-empty when operator is In or NotIn"
                                  : "must be empty when operator is Exists or DoesNotExist");
  }
  return requirement;
}

// nullopt when absent: a null selector is no selector, {} selects everything.
absl::StatusOr<std::optional<compiler::LabelSelector>> ReadSelector(const Node& node) {
  if (!node.present()) return std::nullopt;
  FW_RETURN_IF_ERROR(ExpectObject(node));
  compiler::LabelSelector selector;
  FW_ASSIGN_OR_RETURN(selector.match_labels, ReadStringMap(node["matchLabels"]));
  FW_ASSIGN_OR_RETURN(std::vector<Node> expressions, Items(node["matchExpressions"]));
  for (const Node& item : expressions) {
    FW_ASSIGN_OR_RETURN(compiler::LabelSelectorRequirement requirement, ReadRequirement(item));
    selector.match_expressions.push_back(std::move(requirement));
  }
  return selector;
}

absl::StatusOr<IpPrefix> ReadCidr(const Node& node) {
  FW_ASSIGN_OR_RETURN(std::string text, ReadRequiredString(node));
  // Host bits are cleared, as for the legacy CIDR field in the manifest decoder.
  absl::StatusOr<IpPrefix> prefix = IpPrefix::ParseAllowingHostBits(text);
  if (!prefix.ok()) return node.Error(absl::StrCat("invalid CIDR: ", prefix.status().message()));
  return *prefix;
}

absl::StatusOr<compiler::IpBlock> ReadIpBlock(const Node& node) {
  FW_RETURN_IF_ERROR(ExpectObject(node));
  compiler::IpBlock block;
  FW_ASSIGN_OR_RETURN(block.cidr, ReadCidr(node["cidr"]));
  FW_ASSIGN_OR_RETURN(std::vector<Node> excepts, Items(node["except"]));
  for (const Node& item : excepts) {
    FW_ASSIGN_OR_RETURN(IpPrefix except, ReadCidr(item));
    if (absl::Status status = compiler::internal::CheckIpBlockExcept(block.cidr, except);
        !status.ok()) {
      return item.Error(status.message());
    }
    block.except.push_back(except);
  }
  return block;
}

absl::StatusOr<compiler::PolicyPeer> ReadPeer(const Node& node) {
  FW_RETURN_IF_ERROR(ExpectObject(node));
  compiler::PolicyPeer peer;
  FW_ASSIGN_OR_RETURN(peer.pod_selector, ReadSelector(node["podSelector"]));
  FW_ASSIGN_OR_RETURN(peer.namespace_selector, ReadSelector(node["namespaceSelector"]));
  Node ip_block = node["ipBlock"];
  if (ip_block.present()) {
    FW_ASSIGN_OR_RETURN(peer.ip_block, ReadIpBlock(ip_block));
  }
  bool selectors = peer.pod_selector || peer.namespace_selector;
  if (!selectors && !peer.ip_block) {
    return node.Error("must specify at least one of podSelector, namespaceSelector or ipBlock");
  }
  if (selectors && peer.ip_block) {
    return node.Error("ipBlock may not be combined with podSelector or namespaceSelector");
  }
  return peer;
}

absl::StatusOr<compiler::PolicyPort> ReadPolicyPort(const Node& node) {
  FW_RETURN_IF_ERROR(ExpectObject(node));
  compiler::PolicyPort port;
  FW_ASSIGN_OR_RETURN(port.protocol, ReadProtocol(node["protocol"]));
  FW_ASSIGN_OR_RETURN(port.port, ReadPortNumberOrName(node["port"]));
  Node end = node["endPort"];
  FW_ASSIGN_OR_RETURN(std::optional<int64_t> end_port, ReadInt(end));
  if (end_port) {
    const uint16_t* start = port.port ? std::get_if<uint16_t>(&*port.port) : nullptr;
    if (start == nullptr) return end.Error("may only be specified with a numeric port");
    FW_ASSIGN_OR_RETURN(port.end_port, CheckPortNumber(end, *end_port));
    if (*port.end_port < *start) return end.Error(absl::StrCat("must be >= port ", *start));
  }
  return port;
}

absl::StatusOr<std::vector<compiler::PolicyRule>> ReadRules(const Node& node,
                                                            const char* peers_key) {
  FW_ASSIGN_OR_RETURN(std::vector<Node> items, Items(node));
  std::vector<compiler::PolicyRule> rules;
  for (const Node& item : items) {
    // A null rule is an empty one: every peer, every port.
    FW_RETURN_IF_ERROR(ExpectObject(item));
    compiler::PolicyRule rule;
    FW_ASSIGN_OR_RETURN(std::vector<Node> ports, Items(item["ports"]));
    for (const Node& port : ports) {
      FW_ASSIGN_OR_RETURN(compiler::PolicyPort policy_port, ReadPolicyPort(port));
      rule.ports.push_back(std::move(policy_port));
    }
    FW_ASSIGN_OR_RETURN(std::vector<Node> peers, Items(item[peers_key]));
    for (const Node& peer : peers) {
      FW_ASSIGN_OR_RETURN(compiler::PolicyPeer policy_peer, ReadPeer(peer));
      rule.peers.push_back(std::move(policy_peer));
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

absl::StatusOr<compiler::Namespace> DecodeNamespace(const Node& root, Meta meta) {
  compiler::Namespace ns;
  ns.name = std::move(meta.name);
  ns.uid = std::move(meta.uid);
  FW_ASSIGN_OR_RETURN(Labels labels, ReadStringMap(root["metadata"]["labels"]));
  // The API server sets this label itself; older servers and hand-made objects may lack it.
  labels[compiler::kNamespaceNameLabel] = ns.name;
  ns.labels = labels;
  FW_ASSIGN_OR_RETURN(ns.annotations, ReadFlatwallAnnotations(root["metadata"]["annotations"]));
  return ns;
}

absl::Status ReadContainerPorts(const Node& container, std::vector<compiler::ContainerPort>& out) {
  FW_RETURN_IF_ERROR(ExpectObject(container));
  FW_ASSIGN_OR_RETURN(std::vector<Node> ports, Items(container["ports"]));
  for (const Node& item : ports) {
    FW_RETURN_IF_ERROR(ExpectObject(item));
    compiler::ContainerPort port;
    FW_ASSIGN_OR_RETURN(port.port, ReadRequiredPort(item["containerPort"]));
    FW_ASSIGN_OR_RETURN(std::optional<std::string> name, ReadString(item["name"]));
    if (name) port.name = std::move(*name);
    FW_ASSIGN_OR_RETURN(port.protocol, ReadProtocol(item["protocol"]));
    out.push_back(std::move(port));
  }
  return absl::OkStatus();
}

absl::StatusOr<compiler::Pod> DecodePod(const Node& root, Meta meta) {
  compiler::Pod pod;
  pod.namespace_name = std::move(meta.namespace_name);
  pod.name = std::move(meta.name);
  pod.uid = std::move(meta.uid);
  FW_ASSIGN_OR_RETURN(pod.labels, ReadStringMap(root["metadata"]["labels"]));

  Node spec = root["spec"];
  FW_RETURN_IF_ERROR(ExpectObject(spec));
  FW_ASSIGN_OR_RETURN(std::optional<std::string> node_name, ReadString(spec["nodeName"]));
  if (node_name) pod.node_name = std::move(*node_name);
  FW_ASSIGN_OR_RETURN(pod.host_network, ReadBool(spec["hostNetwork"]));
  // Init containers count too, as in the manifest decoder: sidecars serve on their ports.
  for (const char* list : {"containers", "initContainers"}) {
    FW_ASSIGN_OR_RETURN(std::vector<Node> containers, Items(spec[list]));
    for (const Node& container : containers) {
      FW_RETURN_IF_ERROR(ReadContainerPorts(container, pod.ports));
    }
  }

  Node status = root["status"];
  FW_RETURN_IF_ERROR(ExpectObject(status));
  FW_ASSIGN_OR_RETURN(std::vector<Node> pod_ips, Items(status["podIPs"]));
  for (const Node& item : pod_ips) {
    FW_RETURN_IF_ERROR(ExpectObject(item));
    FW_RETURN_IF_ERROR(AddIp(item["ip"], pod.ips));
  }
  if (pod.ips.empty()) FW_RETURN_IF_ERROR(AddIp(status["podIP"], pod.ips));
  // A finished pod's addresses go back to the CNI and may be reused at once (see the
  // manifest decoder's DecodePod).
  FW_ASSIGN_OR_RETURN(std::optional<std::string> phase, ReadString(status["phase"]));
  if (phase && (*phase == "Succeeded" || *phase == "Failed")) pod.ips.clear();
  return pod;
}

absl::StatusOr<compiler::Service> DecodeService(const Node& root, Meta meta) {
  compiler::Service service;
  service.namespace_name = std::move(meta.namespace_name);
  service.name = std::move(meta.name);

  Node spec = root["spec"];
  FW_RETURN_IF_ERROR(ExpectObject(spec));
  FW_ASSIGN_OR_RETURN(std::vector<Node> cluster_ips, Items(spec["clusterIPs"]));
  cluster_ips.push_back(spec["clusterIP"]);
  for (const Node& ip : cluster_ips) {
    // "None" marks a headless service.
    if (ip.present() && ip.value() == "None") continue;
    FW_RETURN_IF_ERROR(AddIp(ip, service.cluster_ips));
  }
  FW_ASSIGN_OR_RETURN(Labels selector, ReadStringMap(spec["selector"]));
  // An empty selector selects nothing for a Service (as in the manifest decoder).
  if (!selector.empty()) service.selector = std::move(selector);

  FW_ASSIGN_OR_RETURN(std::vector<Node> ports, Items(spec["ports"]));
  for (const Node& item : ports) {
    FW_RETURN_IF_ERROR(ExpectObject(item));
    compiler::ServicePort port;
    FW_ASSIGN_OR_RETURN(std::optional<std::string> name, ReadString(item["name"]));
    if (name) port.name = std::move(*name);
    FW_ASSIGN_OR_RETURN(port.protocol, ReadProtocol(item["protocol"]));
    FW_ASSIGN_OR_RETURN(port.port, ReadRequiredPort(item["port"]));
    port.target_port = port.port;
    Node target = item["targetPort"];
    // The API server defaults a targetPort of 0 or "" to the port, like an absent one.
    bool unset = !target.present() || target.value() == 0 || target.value() == "";
    if (!unset) {
      FW_ASSIGN_OR_RETURN(auto target_port, ReadPortNumberOrName(target));
      port.target_port = std::move(*target_port);
    }
    service.ports.push_back(std::move(port));
  }
  return service;
}

absl::StatusOr<compiler::NetworkPolicy> DecodeNetworkPolicy(const Node& root, Meta meta) {
  compiler::NetworkPolicy policy;
  policy.namespace_name = std::move(meta.namespace_name);
  policy.name = std::move(meta.name);
  policy.uid = std::move(meta.uid);
  policy.generation = meta.generation;
  FW_ASSIGN_OR_RETURN(policy.annotations,
                      ReadFlatwallAnnotations(root["metadata"]["annotations"]));

  Node spec = root["spec"];
  FW_RETURN_IF_ERROR(ExpectObject(spec));
  Node pod_selector = spec["podSelector"];
  FW_ASSIGN_OR_RETURN(std::optional<compiler::LabelSelector> selector, ReadSelector(pod_selector));
  if (!selector) return pod_selector.Error("required");
  policy.pod_selector = std::move(*selector);
  FW_ASSIGN_OR_RETURN(policy.ingress, ReadRules(spec["ingress"], "from"));
  FW_ASSIGN_OR_RETURN(policy.egress, ReadRules(spec["egress"], "to"));

  FW_ASSIGN_OR_RETURN(std::vector<Node> types, Items(spec["policyTypes"]));
  for (const Node& item : types) {
    FW_ASSIGN_OR_RETURN(std::string type, ReadRequiredString(item));
    bool* affects = type == "Ingress"  ? &policy.affects_ingress
                    : type == "Egress" ? &policy.affects_egress
                                       : nullptr;
    if (affects == nullptr) {
      return item.Error(
          absl::StrCat("unsupported value \"", type, "\": must be Ingress or Egress"));
    }
    *affects = true;
  }
  if (types.empty()) compiler::internal::DefaultPolicyTypes(policy.egress.size(), policy);
  return policy;
}

absl::StatusOr<ClusterObject> DecodeKind(ResourceKind kind, const Node& root, Meta meta) {
  switch (kind) {
    case ResourceKind::kNamespace:
      return DecodeNamespace(root, std::move(meta));
    case ResourceKind::kPod:
      return DecodePod(root, std::move(meta));
    case ResourceKind::kService:
      return DecodeService(root, std::move(meta));
    case ResourceKind::kNetworkPolicy:
      return DecodeNetworkPolicy(root, std::move(meta));
  }
  return absl::InternalError("unknown resource kind");
}

ClusterObject IdentityObject(ResourceKind kind, Meta meta) {
  switch (kind) {
    case ResourceKind::kNamespace:
      return compiler::Namespace{.name = std::move(meta.name), .uid = std::move(meta.uid)};
    case ResourceKind::kPod:
      return compiler::Pod{.namespace_name = std::move(meta.namespace_name),
                           .name = std::move(meta.name),
                           .uid = std::move(meta.uid)};
    case ResourceKind::kService:
      return compiler::Service{.namespace_name = std::move(meta.namespace_name),
                               .name = std::move(meta.name)};
    case ResourceKind::kNetworkPolicy:
      break;
  }
  return compiler::NetworkPolicy{.namespace_name = std::move(meta.namespace_name),
                                 .name = std::move(meta.name),
                                 .uid = std::move(meta.uid)};
}

// Checks the root and kind and reads the metadata, errors prefixed with the kind.
absl::StatusOr<Meta> ReadRoot(ResourceKind kind, const Node& root) {
  std::string kind_name(KindName(kind));
  absl::Status status = ExpectObject(root);
  if (status.ok() && !root.present()) status = absl::InvalidArgumentError("missing object");
  if (status.ok()) {
    absl::StatusOr<std::optional<std::string>> object_kind = ReadString(root["kind"]);
    if (!object_kind.ok()) {
      status = object_kind.status();
    } else if (*object_kind && **object_kind != kind_name) {
      status = root["kind"].Error(absl::StrCat("expected ", kind_name, ", got ", **object_kind));
    }
  }
  absl::StatusOr<Meta> meta = status.ok() ? ReadMeta(kind, root["metadata"]) : status;
  if (!meta.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(kind_name, ": ", meta.status().message()));
  }
  return meta;
}

}  // namespace

std::string_view KindName(ResourceKind kind) {
  static constexpr std::string_view kNames[] = {"Namespace", "Pod", "Service", "NetworkPolicy"};
  return kNames[static_cast<int>(kind)];
}

std::string_view CollectionPath(ResourceKind kind) {
  static constexpr std::string_view kPaths[] = {"/api/v1/namespaces", "/api/v1/pods",
                                                "/api/v1/services",
                                                "/apis/networking.k8s.io/v1/networkpolicies"};
  return kPaths[static_cast<int>(kind)];
}

absl::StatusOr<ClusterObject> DecodeApiObject(ResourceKind kind, const json& object) {
  Node root(&object, "");
  FW_ASSIGN_OR_RETURN(Meta meta, ReadRoot(kind, root));
  std::string name =
      meta.namespace_name.empty() ? meta.name : absl::StrCat(meta.namespace_name, "/", meta.name);
  absl::StatusOr<ClusterObject> decoded = DecodeKind(kind, root, std::move(meta));
  if (!decoded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(KindName(kind)), " ", name, ": ", decoded.status().message()));
  }
  return decoded;
}

absl::StatusOr<ClusterObject> DecodeApiObjectIdentity(ResourceKind kind, const json& object) {
  FW_ASSIGN_OR_RETURN(Meta meta, ReadRoot(kind, Node(&object, "")));
  return IdentityObject(kind, std::move(meta));
}

}  // namespace flatwall::apiwatch
