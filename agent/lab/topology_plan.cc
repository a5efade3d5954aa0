#include "agent/lab/topology_plan.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/lab/lab_names.h"
#include "policy-compiler/selector.h"

namespace flatwall::lab {
namespace {

using compiler::IpAddress;
using compiler::IpPrefix;
using compiler::Protocol;

IpAddress MustParse(const std::string& text) { return *IpAddress::Parse(text); }
IpPrefix MustParsePrefix(const std::string& text) { return *IpPrefix::Parse(text); }

// Addresses a pod may not have, and why.
struct Reserved {
  const char* prefix;
  const char* why;
};
constexpr Reserved kReserved[] = {
    {"10.10.0.0/24", "the lab's underlay"},
    {"10.96.0.0/16", "the Service range"},
    {"0.0.0.0/8", "not a unicast address"},
    {"127.0.0.0/8", "a loopback address"},
    {"169.254.0.0/16", "link-local"},
    {"224.0.0.0/3", "not a unicast address"},
    {"fd00:10::/64", "the lab's underlay"},
    {"::/127", "not a unicast address"},
    {"fe80::/10", "link-local"},
    {"ff00::/8", "a multicast address"},
};

absl::Status CheckPodAddress(const std::string& pod, const IpAddress& ip) {
  for (const Reserved& reserved : kReserved) {
    if (MustParsePrefix(reserved.prefix).Contains(ip)) {
      return absl::InvalidArgumentError(absl::StrCat("pod ", pod, ": address ", ip.ToString(),
                                                     " is ", reserved.why, " (", reserved.prefix,
                                                     ")"));
    }
  }
  return absl::OkStatus();
}

// The node a pod names in spec.nodeName, as a 0-based index.
absl::StatusOr<int> NodeIndex(const compiler::Pod& pod, int node_count) {
  int index = 0;
  const std::string& name = pod.node_name;
  if (name.rfind("node-", 0) == 0 && absl::SimpleAtoi(name.substr(5), &index) && index >= 1 &&
      index <= node_count && name == NodeName(index)) {
    return index - 1;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("pod ", pod.namespace_name, "/", pod.name, ": spec.nodeName \"", name,
                   "\" is not a lab node (node-1 .. ", NodeName(node_count), ")"));
}

// Hands out the lowest free address of a range, skipping those already taken.
class AddressPool {
 public:
  AddressPool(std::string base, int first, int last, std::string what)
      : base_(std::move(base)), first_(first), last_(last), what_(std::move(what)) {}

  void Take(const IpAddress& ip) { taken_.insert(ip); }
  bool Taken(const IpAddress& ip) const { return taken_.count(ip) > 0; }

  absl::StatusOr<IpAddress> Allocate() {
    for (int n = first_; n <= last_; ++n) {
      IpAddress ip = MustParse(absl::StrCat(base_, n / 256, ".", n % 256));
      if (taken_.insert(ip).second) return ip;
    }
    return absl::ResourceExhaustedError(absl::StrCat("no free address left in ", what_));
  }

 private:
  std::string base_;  // the first two octets, "10.10."
  int first_, last_;  // the last two octets as one number
  std::string what_;
  std::set<IpAddress> taken_;
};

std::vector<ServedPort> ServedPorts(const compiler::Pod& pod, int* sctp_ports) {
  std::vector<ServedPort> ports;
  for (const compiler::ContainerPort& port : pod.ports) {
    if (port.protocol == Protocol::kSctp) {
      ++*sctp_ports;
      continue;
    }
    ports.push_back({port.protocol, port.port});
  }
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

// The pods of `namespace_name` a Service selector picks, among the planned pods.
std::vector<std::string> SelectedPods(const compiler::ClusterState& state,
                                      const std::vector<PodPlan>& pods,
                                      const std::string& namespace_name,
                                      const compiler::Labels& selector) {
  std::vector<std::string> selected;
  for (const PodPlan& plan : pods) {
    const compiler::Pod* pod = state.FindPod(plan.key);
    if (pod->namespace_name == namespace_name && compiler::LabelsInclude(pod->labels, selector)) {
      selected.push_back(plan.key);
    }
  }
  return selected;
}

// A Service port's backends: the selected pods with an IPv4 address whose container
// ports resolve its targetPort (a number always does; a name must match a port of the
// same protocol, as the endpoints controller requires).
std::vector<ServiceBackend> Backends(const compiler::ClusterState& state, const TopologyPlan& plan,
                                     const std::vector<std::string>& pods,
                                     const compiler::ServicePort& port) {
  std::vector<ServiceBackend> backends;
  for (const std::string& key : pods) {
    const PodPlan* pod = plan.FindPod(key);
    if (!pod->ipv4) continue;
    std::optional<uint16_t> target;
    if (const uint16_t* number = std::get_if<uint16_t>(&port.target_port)) {
      target = *number;
    } else {
      for (const compiler::ContainerPort& container : state.FindPod(key)->ports) {
        if (container.name == std::get<std::string>(port.target_port) &&
            container.protocol == port.protocol) {
          target = container.port;
        }
      }
    }
    if (target) backends.push_back({key, *pod->ipv4, *target});
  }
  return backends;
}

// "fwlab-<pod name>", cut to the 63 characters of a DNS label.
std::string GeneratedServiceName(const std::string& pod_name) {
  std::string name = absl::StrCat("fwlab-", pod_name).substr(0, 63);
  while (name.back() == '-' || name.back() == '.') name.pop_back();
  std::replace(name.begin(), name.end(), '.', '-');  // Service names are DNS-1035 labels
  return name;
}

class Planner {
 public:
  Planner(const compiler::ClusterState& state, const TopologyPlan* previous)
      : state_(state), previous_(previous) {}

  absl::StatusOr<TopologyPlan> Plan(const std::string& lab_name, int node_count);

 private:
  absl::Status PlanNodes();
  absl::Status PlanPods();
  absl::Status PlanManifestServices();
  absl::Status PlanGeneratedServices();
  const PodPlan* Previous(const std::string& pod) const {
    return previous_ ? previous_->FindPod(pod) : nullptr;
  }

  const compiler::ClusterState& state_;
  const TopologyPlan* previous_;
  TopologyPlan plan_;
  std::set<IpAddress> node_addresses_;
  std::set<IpAddress> cluster_ips_;
};

absl::StatusOr<TopologyPlan> Planner::Plan(const std::string& lab_name, int node_count) {
  if (absl::Status valid = ValidateLabName(lab_name); !valid.ok()) return valid;
  if (node_count < 1 || node_count > kMaxNodes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a lab has 1 to ", kMaxNodes, " nodes, not ", node_count));
  }
  LabNames names(lab_name);
  plan_.lab_name = lab_name;
  plan_.node_count = node_count;
  plan_.fabric_netns = names.FabricNetns();
  plan_.next_node = previous_ ? previous_->next_node % node_count : 0;
  for (int k = 1; k <= node_count; ++k) {
    NodePlan node{NodeName(k), names.NodeNetns(NodeName(k)),
                  MustParse(absl::StrCat("10.10.0.", 10 + k)),
                  MustParse(absl::StrCat("fd00:10::", 10 + k)), NodeName(k)};
    node_addresses_.insert(node.underlay_ipv4);
    plan_.nodes.push_back(std::move(node));
  }
  if (absl::Status status = PlanPods(); !status.ok()) return status;
  if (absl::Status status = PlanManifestServices(); !status.ok()) return status;
  if (absl::Status status = PlanGeneratedServices(); !status.ok()) return status;
  std::sort(plan_.services.begin(), plan_.services.end(),
            [](const ServicePlan& a, const ServicePlan& b) { return a.key() < b.key(); });
  return std::move(plan_);
}

absl::Status Planner::PlanPods() {
  LabNames names(plan_.lab_name);
  AddressPool pool("10.10.", 256 + 2, 256 + 254, kPodSubnet);
  std::map<IpAddress, std::string> owners;  // every pod address given in the manifests
  int sctp_ports = 0;
  for (const compiler::Pod* pod : state_.AllPods()) {
    std::string key = absl::StrCat(pod->namespace_name, "/", pod->name);
    if (pod->host_network) {
      plan_.notes.push_back(absl::StrCat("pod ", key, " uses the host network: not built"));
      continue;
    }
    PodPlan planned;
    planned.key = key;
    for (const IpAddress& ip : pod->ips) {
      std::optional<IpAddress>& slot = ip.is_v4() ? planned.ipv4 : planned.ipv6;
      if (slot) continue;
      if (absl::Status valid = CheckPodAddress(key, ip); !valid.ok()) return valid;
      if (auto [it, inserted] = owners.emplace(ip, key); !inserted) {
        return absl::InvalidArgumentError(
            absl::StrCat("pods ", it->second, " and ", key, " both have address ", ip.ToString()));
      }
      pool.Take(ip);
      slot = ip;
    }
    if (!pod->node_name.empty()) {
      absl::StatusOr<int> index = NodeIndex(*pod, plan_.node_count);
      if (!index.ok()) return index.status();
      planned.node = NodeName(*index + 1);
    }
    planned.ports = ServedPorts(*pod, &sctp_ports);
    planned.host_veth = HostVethName(key);
    planned.host_veth_mac = HostVethMac(key);
    plan_.pods.push_back(std::move(planned));
  }
  if (sctp_ports > 0) {
    plan_.notes.push_back(absl::StrCat(sctp_ports, " SCTP container port(s) not served: this ",
                                       "kernel has no SCTP, so no SCTP socket can answer"));
  }

  // Kept pods first, so that a new pod never takes what an existing one holds.
  std::set<int> netns_indices;
  for (PodPlan& pod : plan_.pods) {
    const PodPlan* before = Previous(pod.key);
    if (before == nullptr) continue;
    pod.netns_index = before->netns_index;
    netns_indices.insert(pod.netns_index);
    if (pod.node.empty()) pod.node = before->node;
    if (!pod.ipv4 && !pod.ipv6 && before->ipv4_allocated && !pool.Taken(*before->ipv4)) {
      pool.Take(*before->ipv4);
      pod.ipv4 = before->ipv4;
      pod.ipv4_allocated = true;
    }
  }
  for (PodPlan& pod : plan_.pods) {
    if (pod.netns_index == 0) {
      int index = 1;
      while (netns_indices.count(index)) ++index;
      netns_indices.insert(index);
      pod.netns_index = index;
    }
    pod.netns = names.PodNetns(pod.netns_index);
    if (pod.node.empty()) {
      pod.node = NodeName(plan_.next_node + 1);
      plan_.next_node = (plan_.next_node + 1) % plan_.node_count;
    }
    if (!pod.ipv4 && !pod.ipv6) {
      absl::StatusOr<IpAddress> ip = pool.Allocate();
      if (!ip.ok()) return ip.status();
      pod.ipv4 = *ip;
      pod.ipv4_allocated = true;
    }
  }
  return absl::OkStatus();
}

absl::Status Planner::PlanManifestServices() {
  std::map<IpAddress, std::string> pod_addresses;
  for (const PodPlan& pod : plan_.pods) {
    if (pod.ipv4) pod_addresses[*pod.ipv4] = pod.key;
  }
  std::map<IpAddress, std::string> owners;
  int sctp_ports = 0;
  for (const auto& [key, service] : state_.services()) {
    auto v4 = std::find_if(service.cluster_ips.begin(), service.cluster_ips.end(),
                           [](const IpAddress& ip) { return ip.is_v4(); });
    if (!service.selector || v4 == service.cluster_ips.end()) {
      plan_.notes.push_back(absl::StrCat("Service ", key, " is not translated: it has no ",
                                         service.selector ? "IPv4 clusterIP" : "selector"));
      continue;
    }
    if (auto [it, inserted] = owners.emplace(*v4, key); !inserted) {
      return absl::InvalidArgumentError(absl::StrCat("Services ", it->second, " and ", key,
                                                     " both have clusterIP ", v4->ToString()));
    }
    if (node_addresses_.count(*v4) || pod_addresses.count(*v4)) {
      return absl::InvalidArgumentError(absl::StrCat("Service ", key, ": clusterIP ",
                                                     v4->ToString(), " is a pod or node address"));
    }
    ServicePlan planned{service.namespace_name, service.name, *v4, false, *service.selector};
    planned.backend_pods =
        SelectedPods(state_, plan_.pods, service.namespace_name, *service.selector);
    for (const compiler::ServicePort& port : service.ports) {
      if (port.protocol == Protocol::kSctp) {
        ++sctp_ports;
        continue;
      }
      planned.ports.push_back({port.name, port.protocol, port.port,
                               Backends(state_, plan_, planned.backend_pods, port)});
    }
    cluster_ips_.insert(*v4);
    plan_.services.push_back(std::move(planned));
  }
  if (sctp_ports > 0) {
    plan_.notes.push_back(
        absl::StrCat(sctp_ports, " SCTP Service port(s) not translated (no SCTP in this kernel)"));
  }
  return absl::OkStatus();
}

absl::Status Planner::PlanGeneratedServices() {
  std::set<std::string> has_own;
  for (const ServicePlan& service : plan_.services) {
    if (service.backend_pods.size() == 1) has_own.insert(service.backend_pods[0]);
  }
  std::map<std::string, IpAddress> previous_ips;
  if (previous_ != nullptr) {
    for (const ServicePlan& service : previous_->services) {
      if (service.generated) previous_ips[service.key()] = service.cluster_ip;
    }
  }
  AddressPool pool("10.96.", 100, 256 * 256 - 2, kServiceSubnet);
  for (const IpAddress& ip : cluster_ips_) pool.Take(ip);

  std::vector<ServicePlan> generated;
  for (const PodPlan& pod : plan_.pods) {
    if (has_own.count(pod.key) || !pod.ipv4) continue;
    const compiler::Pod* model = state_.FindPod(pod.key);
    ServicePlan service{model->namespace_name, GeneratedServiceName(model->name), {}, true,
                        model->labels.ToMap()};
    service.backend_pods =
        SelectedPods(state_, plan_.pods, service.namespace_name, service.selector);
    if (service.selector.empty() || service.backend_pods != std::vector<std::string>{pod.key} ||
        state_.services().count(service.key())) {
      plan_.notes.push_back(absl::StrCat("no Service reaches only pod ", pod.key,
                                         " (its labels select other pods too, or none): "
                                         "--via-service cannot probe it"));
      continue;
    }
    for (const ServedPort& port : pod.ports) {
      std::string name = absl::StrCat(port.protocol == Protocol::kTcp ? "tcp-" : "udp-", port.port);
      service.ports.push_back({name, port.protocol, port.port, {{pod.key, *pod.ipv4, port.port}}});
    }
    generated.push_back(std::move(service));
  }
  // Those that had an address keep it before any new one is handed out.
  for (ServicePlan& service : generated) {
    auto it = previous_ips.find(service.key());
    if (it != previous_ips.end() && !pool.Taken(it->second)) {
      pool.Take(it->second);
      service.cluster_ip = it->second;
    }
  }
  for (ServicePlan& service : generated) {
    if (service.cluster_ip == IpAddress()) {
      absl::StatusOr<IpAddress> ip = pool.Allocate();
      if (!ip.ok()) return ip.status();
      service.cluster_ip = *ip;
    }
    plan_.services.push_back(std::move(service));
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<compiler::IpAddress> PodPlan::AddressFor(const PodPlan& peer) const {
  if (ipv4 && peer.ipv4) return ipv4;
  if (ipv6 && peer.ipv6) return ipv6;
  return std::nullopt;
}

const PodPlan* TopologyPlan::FindPod(const std::string& key) const {
  auto it = std::lower_bound(pods.begin(), pods.end(), key,
                             [](const PodPlan& pod, const std::string& k) { return pod.key < k; });
  return it != pods.end() && it->key == key ? &*it : nullptr;
}

absl::StatusOr<TopologyPlan> PlanTopology(const compiler::ClusterState& state,
                                          const std::string& lab_name, int node_count,
                                          const TopologyPlan* previous) {
  return Planner(state, previous).Plan(lab_name, node_count);
}

std::optional<ServiceAddress> FindServiceFor(const TopologyPlan& plan, const std::string& pod,
                                             compiler::Protocol protocol, uint16_t port) {
  for (bool generated : {false, true}) {
    for (const ServicePlan& service : plan.services) {
      if (service.generated != generated || service.backend_pods != std::vector<std::string>{pod}) {
        continue;
      }
      for (const ServicePortPlan& service_port : service.ports) {
        if (service_port.protocol != protocol) continue;
        for (const ServiceBackend& backend : service_port.backends) {
          if (backend.port == port)
            return ServiceAddress{service.key(), service.cluster_ip, service_port.port};
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace flatwall::lab
