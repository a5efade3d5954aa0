#include "policy-compiler/internal/network_policy_decoder.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy-compiler/internal/api_defaults.h"
#include "policy-compiler/internal/meta_fields.h"

namespace flatwall::compiler::internal {
namespace {

std::optional<IpPrefix> ReadCidr(const Field& field) {
  std::optional<std::string> text = ReadString(field);
  if (!text) return std::nullopt;
  // Host bits are accepted and cleared: the API server validates ipBlock CIDRs with
  // net.ParseCIDR semantics (IsValidCIDRForLegacyField, StrictIPCIDRValidation off by
  // default through 1.35), which masks them.
  absl::StatusOr<IpPrefix> prefix = IpPrefix::ParseAllowingHostBits(*text);
  if (!prefix.ok()) {
    field.Error(absl::StrCat("invalid CIDR: ", prefix.status().message()));
    return std::nullopt;
  }
  return *prefix;
}

std::optional<IpBlock> ReadIpBlock(const Field& field) {
  MapReader map(field);
  bool ok = true;
  Field cidr_field = map.Get("cidr");
  std::optional<IpPrefix> cidr;
  if (!cidr_field.present() ||
      (cidr_field.node().IsScalar() && cidr_field.node().Scalar().empty())) {
    cidr_field.Error("required");
    ok = false;
  } else {
    cidr = ReadCidr(cidr_field);
    ok &= cidr.has_value();
  }

  IpBlock block;
  for (const Field& item : ReadList(map.Get("except"))) {
    std::optional<IpPrefix> except = ReadCidr(item);
    if (!item.present()) item.Error("required");
    if (!except) {
      ok = false;
      continue;
    }
    if (!cidr) continue;
    if (absl::Status status = CheckIpBlockExcept(*cidr, *except); !status.ok()) {
      item.Error(std::string(status.message()));
      ok = false;
    } else {
      block.except.push_back(*except);
    }
  }
  map.RejectUnknownFields();
  if (!ok) return std::nullopt;
  block.cidr = *cidr;
  return block;
}

PolicyPeer ReadPeer(const Field& field) {
  MapReader map(field);
  Field pod_selector = map.Get("podSelector");
  Field namespace_selector = map.Get("namespaceSelector");
  Field ip_block = map.Get("ipBlock");
  PolicyPeer peer;
  peer.pod_selector = ReadLabelSelector(pod_selector);
  peer.namespace_selector = ReadLabelSelector(namespace_selector);
  if (ip_block.present()) peer.ip_block = ReadIpBlock(ip_block);
  map.RejectUnknownFields();

  // A null selector is no selector (Go decodes it to a nil pointer); {} is "all".
  int members = pod_selector.present() + namespace_selector.present() + ip_block.present();
  if (members == 0) {
    field.Error("must specify at least one of podSelector, namespaceSelector or ipBlock");
  } else if (ip_block.present() && members > 1) {
    field.Error("ipBlock may not be combined with podSelector or namespaceSelector");
  }
  return peer;
}

PolicyPort ReadPolicyPort(const Field& field) {
  MapReader map(field);
  PolicyPort port;
  port.protocol = ReadProtocol(map.Get("protocol"));

  Field port_field = map.Get("port");
  std::optional<IntOrString> raw = ReadIntOrString(port_field);
  if (raw) port.port = CheckPortNumberOrName(port_field, *raw);

  Field end_field = map.Get("endPort");
  if (end_field.present()) {
    std::optional<int64_t> end = ReadInt(end_field);
    const int64_t* start = raw ? std::get_if<int64_t>(&*raw) : nullptr;
    if (!port_field.present()) {
      end_field.Error("may not be specified without port");
    } else if (raw && start == nullptr) {
      end_field.Error("may not be specified when port is a name");
    } else if (end && start) {
      if (std::optional<uint16_t> end_port = CheckPortNumber(end_field, *end)) {
        if (*end < *start) {
          end_field.Error(absl::StrCat("must be >= port ", *start));
        } else {
          port.end_port = *end_port;
        }
      }
    }
  }
  map.RejectUnknownFields();
  return port;
}

// An ingress rule (peers under "from") or an egress rule (peers under "to").
PolicyRule ReadRule(const Field& field, std::string_view peers_key) {
  MapReader map(field);
  PolicyRule rule;
  for (const Field& item : ReadList(map.Get("ports"))) {
    rule.ports.push_back(ReadPolicyPort(item));
  }
  for (const Field& item : ReadList(map.Get(peers_key))) {
    rule.peers.push_back(ReadPeer(item));
  }
  map.RejectUnknownFields();
  return rule;
}

}  // namespace

NetworkPolicy DecodeNetworkPolicy(const Field& root, MapReader& object) {
  ObjectMeta meta = ReadObjectMeta(object.Get("metadata"), MetaRules{.reject_unknown = true});
  NetworkPolicy policy;
  policy.namespace_name = std::move(meta.namespace_name);
  policy.name = std::move(meta.name);
  policy.uid = std::move(meta.uid);
  policy.generation = meta.generation;
  policy.annotations = std::move(meta.annotations);
  policy.source = SourceLocation{root.context().file_name(), root.line()};

  MapReader spec(object.Get("spec"));
  Field pod_selector = spec.Get("podSelector");
  if (!pod_selector.present()) {
    pod_selector.Error("required (use {} to select every pod in the namespace)");
  } else if (std::optional<LabelSelector> selector = ReadLabelSelector(pod_selector)) {
    policy.pod_selector = std::move(*selector);
  }

  std::vector<Field> ingress = ReadList(spec.Get("ingress"));
  for (const Field& item : ingress) policy.ingress.push_back(ReadRule(item, "from"));
  std::vector<Field> egress = ReadList(spec.Get("egress"));
  for (const Field& item : egress) policy.egress.push_back(ReadRule(item, "to"));

  std::vector<Field> policy_types = ReadList(spec.Get("policyTypes"));
  for (const Field& item : policy_types) {
    std::optional<std::string> type = ReadString(item);
    if (!type) {
      if (!item.present()) item.Error("must be Ingress or Egress, got null");
      continue;
    }
    bool* affects = *type == "Ingress"  ? &policy.affects_ingress
                    : *type == "Egress" ? &policy.affects_egress
                                        : nullptr;
    if (affects == nullptr) {
      item.Error(absl::StrCat("unsupported value ", Quote(*type), ": must be Ingress or Egress"));
    } else if (*affects) {
      item.Error(absl::StrCat("duplicate value ", Quote(*type)));
    } else {
      *affects = true;
    }
  }
  if (policy_types.empty()) DefaultPolicyTypes(egress.size(), policy);

  spec.RejectUnknownFields();
  // NetworkPolicyStatus existed in 1.24-1.27 and may still appear in `kubectl get`
  // output; it carries nothing Flatwall uses.
  object.RejectUnknownFields({"status"});
  return policy;
}

}  // namespace flatwall::compiler::internal
