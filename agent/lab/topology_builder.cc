#include "agent/lab/topology_builder.h"

#include <chrono>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/lab/netns.h"
#include "agent/lab/processes.h"
#include "agent/lab/run_command.h"
#include "agent/lab/service_rules.h"
#include "agent/lab/topology_scripts.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::lab {
namespace {

constexpr auto kStopGrace = std::chrono::seconds(2);

absl::Status CreateWithSysctls(const std::string& netns, const Sysctls& sysctls) {
  FW_RETURN_IF_ERROR(CreateNetns(netns));
  return WriteSysctls(netns, sysctls);
}

const NodePlan* FindNode(const TopologyPlan& plan, const std::string& name) {
  for (const NodePlan& node : plan.nodes) {
    if (node.name == name) return &node;
  }
  return nullptr;
}

// Lines per namespace, so each namespace costs one `ip -batch` run.
using Batches = std::map<std::string, std::vector<std::string>>;

void Append(std::vector<std::string>& lines, const std::vector<std::string>& more) {
  lines.insert(lines.end(), more.begin(), more.end());
}

absl::Status RunBatches(const Batches& batches) {
  for (const auto& [netns, lines] : batches) FW_RETURN_IF_ERROR(RunIpBatch(netns, lines));
  return absl::OkStatus();
}

void Keep(absl::Status& first, absl::Status status) {
  if (first.ok()) first = std::move(status);
}

}  // namespace

absl::Status BuildFabricAndNodes(const TopologyPlan& plan) {
  FW_RETURN_IF_ERROR(CreateWithSysctls(plan.fabric_netns, FabricSysctls()));
  for (const NodePlan& node : plan.nodes) {
    FW_RETURN_IF_ERROR(CreateWithSysctls(node.netns, NodeSysctls()));
  }
  FW_RETURN_IF_ERROR(RunIpBatch(plan.fabric_netns, FabricScript(plan)));
  for (const NodePlan& node : plan.nodes)
    FW_RETURN_IF_ERROR(RunIpBatch(node.netns, NodeScript(node)));
  return absl::OkStatus();
}

absl::Status AddPods(const TopologyPlan& plan, const std::vector<const PodPlan*>& pods) {
  Batches links, routes;
  for (const PodPlan* pod : pods) {
    const NodePlan* node = FindNode(plan, pod->node);
    if (node == nullptr) {
      return absl::InternalError(absl::StrCat("pod ", pod->key, " is on unknown node ", pod->node));
    }
    FW_RETURN_IF_ERROR(CreateWithSysctls(pod->netns, PodSysctls()));
    Append(links[node->netns], PodLinkScript(*pod));
    Append(routes[node->netns], PodRouteScript(*pod));
    Append(routes[plan.fabric_netns], FabricPodRoutes(plan, *pod));
  }
  FW_RETURN_IF_ERROR(RunBatches(links));
  for (const PodPlan* pod : pods) FW_RETURN_IF_ERROR(RunIpBatch(pod->netns, PodScript(*pod)));
  return RunBatches(routes);
}

absl::Status RemovePods(const TopologyPlan& plan, const std::vector<const PodPlan*>& pods) {
  absl::Status first;
  for (const PodPlan* pod : pods) {
    Keep(first, StopProcessesInNetns(pod->netns, kStopGrace));
    // Deleting the veth here, rather than leaving it to the namespace's deletion (which the
    // kernel finishes asynchronously), frees its name at once for a pod rebuilt on the
    // same node.
    // Failing is fine: a pod whose build was cut short may have no veth.
    if (const NodePlan* node = FindNode(plan, pod->node); node && NetnsExists(node->netns)) {
      RunIpBatch(node->netns, {absl::StrCat("link del ", pod->host_veth)}).IgnoreError();
    }
    Keep(first, DeleteNetns(pod->netns));
    // The route is gone already when the fabric lost its way to the pod some other way.
    RunIpBatch(plan.fabric_netns, FabricPodRouteRemovals(*pod)).IgnoreError();
  }
  return first;
}

absl::Status ApplyServiceRules(const TopologyPlan& plan) {
  FW_ASSIGN_OR_RETURN(std::string iptables_restore, FindProgram("iptables-restore"));
  std::string table = ServiceNatTable(plan);
  for (const NodePlan& node : plan.nodes) {
    FW_RETURN_IF_ERROR(
        RunCommand(InNetns(node.netns, {iptables_restore, "-w"}), table).status());
  }
  return absl::OkStatus();
}

}  // namespace flatwall::lab
