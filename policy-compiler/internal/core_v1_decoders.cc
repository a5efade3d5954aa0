#include "policy-compiler/internal/core_v1_decoders.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy-compiler/cluster_state.h"
#include "policy-compiler/internal/meta_fields.h"
#include "policy-compiler/internal/name_validation.h"

namespace flatwall::compiler::internal {
namespace {

SourceLocation LocationOf(const Field& root) {
  return SourceLocation{root.context().file_name(), root.line()};
}

// Appends the address in `field` to `ips` unless it is empty or already there.
void AddIp(const Field& field, std::vector<IpAddress>& ips) {
  std::optional<std::string> text = ReadString(field);
  if (!text || text->empty()) return;
  absl::StatusOr<IpAddress> address = IpAddress::Parse(*text);
  if (!address.ok()) {
    field.Error(absl::StrCat("invalid value ", Quote(*text), ": ", address.status().message()));
    return;
  }
  if (std::find(ips.begin(), ips.end(), *address) == ips.end()) ips.push_back(*address);
}

void ReadContainerPorts(const Field& container, std::vector<ContainerPort>& ports) {
  MapReader map(container);
  std::set<std::string> names;  // upstream: port names are unique within a container
  for (const Field& item : ReadList(map.Get("ports"))) {
    MapReader port_map(item);
    ContainerPort port;
    Field number = port_map.Get("containerPort");
    if (!number.present()) {
      number.Error("required");
    } else if (std::optional<uint16_t> value = ReadPortNumber(number)) {
      port.port = *value;
    }
    Field name = port_map.Get("name");
    if (std::optional<std::string> text = ReadString(name); text && !text->empty()) {
      if (absl::Status status = ValidatePortName(*text); !status.ok()) {
        name.Error(absl::StrCat("invalid port name ", Quote(*text), ": ", status.message()));
      } else if (!names.insert(*text).second) {
        name.Error(absl::StrCat("duplicate port name ", Quote(*text)));
      }
      port.name = std::move(*text);
    }
    port.protocol = ReadProtocol(port_map.Get("protocol"));
    ports.push_back(std::move(port));
  }
}

}  // namespace

Namespace DecodeNamespace(const Field& root, MapReader& object) {
  ObjectMeta meta = ReadObjectMeta(
      object.Get("metadata"), MetaRules{.name_rule = NameRule::kDns1123Label, .namespaced = false});
  Namespace ns;
  ns.name = meta.name;
  ns.uid = meta.uid;
  // The API server always sets this label (overwriting any other value), and policies
  // select namespaces by it.
  meta.labels[kNamespaceNameLabel] = meta.name;
  ns.labels = meta.labels;
  ns.annotations = std::move(meta.annotations);
  ns.source = LocationOf(root);
  return ns;
}

Pod DecodePod(const Field& root, MapReader& object) {
  ObjectMeta meta = ReadObjectMeta(object.Get("metadata"), MetaRules{});
  Pod pod;
  pod.namespace_name = std::move(meta.namespace_name);
  pod.name = std::move(meta.name);
  pod.uid = std::move(meta.uid);
  pod.labels = std::move(meta.labels);
  pod.source = LocationOf(root);

  MapReader spec(object.Get("spec"));
  if (std::optional<std::string> node = ReadString(spec.Get("nodeName"))) {
    pod.node_name = std::move(*node);
  }
  if (std::optional<bool> host_network = ReadBool(spec.Get("hostNetwork"))) {
    pod.host_network = *host_network;
  }
  // Init containers' ports count too: a restartable init container (a sidecar) serves on
  // them, and named ports resolve against every container of the pod.
  for (std::string_view list : {"containers", "initContainers"}) {
    for (const Field& container : ReadList(spec.Get(list))) {
      ReadContainerPorts(container, pod.ports);
    }
  }

  MapReader status(object.Get("status"));
  for (const Field& item : ReadList(status.Get("podIPs"))) {
    MapReader pod_ip(item);
    Field ip = pod_ip.Get("ip");
    if (!ip.present()) {
      ip.Error("required");
      continue;
    }
    AddIp(ip, pod.ips);
  }
  Field pod_ip = status.Get("podIP");
  if (pod.ips.empty()) {
    AddIp(pod_ip, pod.ips);
  } else {
    ReadString(pod_ip);  // still type-checked
  }
  // A pod that has finished (phase Succeeded or Failed) no longer holds its addresses: the
  // CNI releases them and may hand them to a new pod, which must not inherit its identity.
  std::optional<std::string> phase = ReadString(status.Get("phase"));
  if (phase && (*phase == "Succeeded" || *phase == "Failed")) pod.ips.clear();
  return pod;
}

Service DecodeService(const Field& root, MapReader& object) {
  // Service names are DNS-1035 labels upstream (they become DNS names and env vars).
  ObjectMeta meta =
      ReadObjectMeta(object.Get("metadata"), MetaRules{.name_rule = NameRule::kDns1035Label});
  Service service;
  service.namespace_name = std::move(meta.namespace_name);
  service.name = std::move(meta.name);
  service.source = LocationOf(root);

  MapReader spec(object.Get("spec"));
  std::vector<Field> cluster_ips = ReadList(spec.Get("clusterIPs"));
  cluster_ips.push_back(spec.Get("clusterIP"));
  for (const Field& field : cluster_ips) {
    // "None" marks a headless service: no virtual IP.
    if (field.present() && field.node().IsScalar() && field.node().Scalar() == "None") continue;
    AddIp(field, service.cluster_ips);
  }

  Field selector = spec.Get("selector");
  Labels labels = ReadLabels(selector);
  // An empty selector selects nothing for a Service (the endpoints controller treats it
  // like no selector), unlike an empty label selector in a NetworkPolicy.
  if (!labels.empty()) service.selector = std::move(labels);

  for (const Field& item : ReadList(spec.Get("ports"))) {
    MapReader port_map(item);
    ServicePort port;
    Field name = port_map.Get("name");
    if (std::optional<std::string> text = ReadString(name); text && !text->empty()) {
      if (absl::Status status = ValidateDns1123Label(*text); !status.ok()) {
        name.Error(absl::StrCat("invalid value ", Quote(*text), ": ", status.message()));
      }
      port.name = std::move(*text);
    }
    port.protocol = ReadProtocol(port_map.Get("protocol"));
    Field number = port_map.Get("port");
    if (!number.present()) {
      number.Error("required");
    } else if (std::optional<uint16_t> value = ReadPortNumber(number)) {
      port.port = *value;
    }
    port.target_port = port.port;
    Field target = port_map.Get("targetPort");
    std::optional<IntOrString> raw_target = ReadIntOrString(target);
    // The API server defaults a targetPort of 0 or "" to the port, like an absent one.
    if (raw_target && *raw_target != IntOrString(int64_t{0}) &&
        *raw_target != IntOrString(std::string())) {
      if (auto target_port = CheckPortNumberOrName(target, std::move(*raw_target))) {
        port.target_port = std::move(*target_port);
      }
    }
    service.ports.push_back(std::move(port));
  }
  return service;
}

}  // namespace flatwall::compiler::internal
