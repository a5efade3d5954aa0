#include "agent/lab/allocated_pods.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace flatwall::lab {

std::string PodManifestWithAddresses(const compiler::Pod& pod, const PodPlan& plan) {
  nlohmann::json ports = nlohmann::json::array();
  for (const compiler::ContainerPort& port : pod.ports) {
    nlohmann::json entry = {{"containerPort", port.port},
                            {"protocol", std::string(compiler::ProtocolName(port.protocol))}};
    if (!port.name.empty()) entry["name"] = port.name;
    ports.push_back(std::move(entry));
  }
  nlohmann::json addresses = nlohmann::json::array();
  for (const std::optional<compiler::IpAddress>& address : {plan.ipv4, plan.ipv6}) {
    if (address) addresses.push_back({{"ip", address->ToString()}});
  }
  nlohmann::json metadata = {{"namespace", pod.namespace_name}, {"name", pod.name},
                             {"labels", pod.labels.ToMap()}};
  if (!pod.uid.empty()) metadata["uid"] = pod.uid;
  nlohmann::json manifest = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", std::move(metadata)},
      {"spec",
       {{"nodeName", pod.node_name},
        {"hostNetwork", pod.host_network},
        {"containers", {{{"name", "main"}, {"ports", std::move(ports)}}}}}},
      {"status", {{"phase", "Running"}, {"podIPs", addresses}}}};
  if (!addresses.empty()) manifest["status"]["podIP"] = addresses[0]["ip"];
  return manifest.dump(2);
}

void AddAllocatedAddresses(const DesiredManifests& desired, const TopologyPlan& plan,
                           std::map<std::string, std::string>& files) {
  const compiler::ClusterState state = desired.State();
  for (const auto& [file_name, unit] : desired.units()) {
    if (unit.object_ids.size() != 1 || !absl::StartsWith(unit.object_ids[0], "Pod ")) continue;
    const std::string key = unit.object_ids[0].substr(4);
    const PodPlan* pod_plan = plan.FindPod(key);
    const compiler::Pod* pod = state.FindPod(key);
    if (pod_plan == nullptr || pod == nullptr || !pod_plan->ipv4_allocated) continue;
    files.erase(file_name);
    std::string base = file_name.substr(0, file_name.rfind('.'));
    files[absl::StrCat(base, ".json")] = PodManifestWithAddresses(*pod, *pod_plan);
  }
}

}  // namespace flatwall::lab
