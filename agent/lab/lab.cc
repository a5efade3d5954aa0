#include "agent/lab/lab.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "agent/lab/agent_launcher.h"
#include "agent/lab/allocated_pods.h"
#include "agent/lab/manifest_units.h"
#include "agent/lab/netns.h"
#include "agent/lab/processes.h"
#include "agent/lab/run_command.h"
#include "agent/lab/server_launcher.h"
#include "agent/lab/service_rules.h"
#include "agent/lab/topology_builder.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::lab {
namespace {

constexpr auto kRestartGrace = std::chrono::seconds(2);

absl::Status RequireRoot() {
  if (geteuid() == 0) return absl::OkStatus();
  return absl::PermissionDeniedError("the lab creates network namespaces: run it as root");
}

absl::StatusOr<LabState> LoadRunning(const std::string& name) {
  FW_RETURN_IF_ERROR(ValidateLabName(name));
  absl::StatusOr<LabState> state = LoadLabState(LabNames(name).StateFile());
  if (absl::IsNotFound(state.status())) {
    return absl::NotFoundError(
        absl::StrCat("no lab \"", name, "\" is up (start one with flatwall lab up)"));
  }
  return state;
}

// What each agent reads: the desired manifests (pods with the addresses the lab
// allocated) and the Services the lab added.
std::map<std::string, std::string> AgentManifests(const DesiredManifests& desired,
                                                  const TopologyPlan& plan) {
  std::map<std::string, std::string> files = desired.Files();
  AddAllocatedAddresses(desired, plan, files);
  for (const ServicePlan& service : plan.services) {
    if (service.generated) {
      files[absl::StrCat("service.", service.namespace_name, ".", service.name, ".json")] =
          GeneratedServiceManifest(service);
    }
  }
  return files;
}

absl::Status WriteManifests(const LabNames& names, const DesiredManifests& desired,
                            const TopologyPlan& plan) {
  FW_RETURN_IF_ERROR(SyncDirectory(names.DesiredDir(), desired.Files()));
  std::map<std::string, std::string> files = AgentManifests(desired, plan);
  for (const NodePlan& node : plan.nodes) {
    FW_RETURN_IF_ERROR(SyncDirectory(names.NodeManifestDir(node.name), files));
  }
  return absl::OkStatus();
}

// Returns once every running agent enforces the manifests just written.
absl::Status WaitForAgents(const LabNames& names, const LabState& state, const TopologyPlan& plan) {
  if (!state.agent) return absl::OkStatus();
  AgentLauncher agents(names, *state.agent);
  for (const NodePlan& node : plan.nodes) FW_RETURN_IF_ERROR(agents.WaitUntilSynced(node));
  return absl::OkStatus();
}

std::vector<const PodPlan*> AllPods(const TopologyPlan& plan) {
  std::vector<const PodPlan*> pods;
  for (const PodPlan& pod : plan.pods) pods.push_back(&pod);
  return pods;
}

// Everything but the namespaces and servers, on a lab whose manifests are already saved.
absl::Status Build(const LabNames& names, const LabState& state, const DesiredManifests& desired) {
  const TopologyPlan& plan = state.plan;
  FW_RETURN_IF_ERROR(BuildFabricAndNodes(plan));
  FW_RETURN_IF_ERROR(AddPods(plan, AllPods(plan)));
  FW_RETURN_IF_ERROR(ApplyServiceRules(plan));
  FW_RETURN_IF_ERROR(WriteManifests(names, desired, plan));
  FW_RETURN_IF_ERROR(StartPodServers(names, state.flatwall_binary, AllPods(plan)));
  if (state.agent) {
    AgentLauncher agents(names, *state.agent);
    for (const NodePlan& node : plan.nodes) FW_RETURN_IF_ERROR(agents.Start(node));
  }
  return SaveLabState(names.StateFile(), state);
}

// Whether a pod must be rebuilt rather than left alone: it moved, or its addresses or
// interfaces changed.
bool SamePlace(const PodPlan& a, const PodPlan& b) {
  return a.node == b.node && a.netns == b.netns && a.ipv4 == b.ipv4 && a.ipv6 == b.ipv6 &&
         a.host_veth == b.host_veth && a.host_veth_mac == b.host_veth_mac;
}

}  // namespace

absl::StatusOr<TopologyPlan> LabUp(const UpOptions& options) {
  FW_RETURN_IF_ERROR(ValidateLabName(options.name));
  FW_RETURN_IF_ERROR(RequireRoot());
  if (options.flatwall_binary.empty()) {
    return absl::InvalidArgumentError("UpOptions::flatwall_binary is needed to serve the pods");
  }
  LabNames names(options.name);
  std::error_code error;
  if (std::filesystem::exists(names.StateDir(), error) || !ListNetns(names.NetnsPrefix()).empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "lab \"", options.name, "\" exists already (remove it with flatwall lab down --name ",
        options.name, ")"));
  }
  LabState state;
  state.flatwall_binary = options.flatwall_binary;
  if (options.agents) {
    if (options.agent_binary.empty()) {
      FW_ASSIGN_OR_RETURN(state.agent, DefaultAgentPath(options.flatwall_binary));
    } else {
      FW_ASSIGN_OR_RETURN(state.agent, FindProgram(options.agent_binary));
    }
  }
  FW_ASSIGN_OR_RETURN(std::vector<ManifestUnit> units, ReadManifestUnits(options.files));
  DesiredManifests desired;
  FW_RETURN_IF_ERROR(desired.Apply(units));
  FW_ASSIGN_OR_RETURN(state.plan, PlanTopology(desired.State(), options.name, options.nodes));

  absl::Status built = Build(names, state, desired);
  if (built.ok()) return state.plan;
  absl::StatusOr<TeardownReport> removed = TearDownLab(options.name);
  return absl::Status(
      built.code(),
      absl::StrCat(built.message(), removed.ok()
                                        ? "\n(everything the lab built was removed again)"
                                        : absl::StrCat("\nand removing what was built failed: ",
                                                       removed.status().message())));
}

absl::StatusOr<ApplyReport> LabApply(const ApplyOptions& options) {
  FW_RETURN_IF_ERROR(RequireRoot());
  FW_ASSIGN_OR_RETURN(LabState state, LoadRunning(options.name));
  LabNames names(options.name);
  FW_ASSIGN_OR_RETURN(DesiredManifests desired, DesiredManifests::Load(names.DesiredDir()));
  if (!options.files.empty()) {
    FW_ASSIGN_OR_RETURN(std::vector<ManifestUnit> units, ReadManifestUnits(options.files));
    FW_RETURN_IF_ERROR(desired.Apply(units));
  }
  if (!options.delete_files.empty()) {
    FW_ASSIGN_OR_RETURN(std::vector<ManifestUnit> doomed, ReadManifestUnits(options.delete_files));
    FW_RETURN_IF_ERROR(desired.Delete(doomed));
  }
  const TopologyPlan old_plan = state.plan;
  FW_ASSIGN_OR_RETURN(TopologyPlan plan,
                      PlanTopology(desired.State(), options.name, old_plan.node_count, &old_plan));

  ApplyReport report;
  std::vector<const PodPlan*> rebuilt_old, removed_old, added, restarted;
  for (const PodPlan& before : old_plan.pods) {
    const PodPlan* after = plan.FindPod(before.key);
    if (after == nullptr) {
      removed_old.push_back(&before);
    } else if (!SamePlace(before, *after)) {
      rebuilt_old.push_back(&before);
    } else if (before.ports != after->ports) {
      restarted.push_back(after);
    }
  }
  for (const PodPlan& after : plan.pods) {
    const PodPlan* before = old_plan.FindPod(after.key);
    if (before == nullptr || !SamePlace(*before, after)) added.push_back(&after);
  }
  for (const PodPlan* pod : removed_old) report.pods_removed.push_back(pod->key);
  for (const PodPlan* pod : rebuilt_old) report.pods_removed.push_back(pod->key);
  for (const PodPlan* pod : added) report.pods_added.push_back(pod->key);
  for (const PodPlan* pod : restarted) report.pods_restarted.push_back(pod->key);

  // New pods exist before any agent reads about them; deleted ones go only after the agents
  // were told, as a kubelet tears a pod down after its deletion is announced.
  absl::Status status = RemovePods(old_plan, rebuilt_old);
  if (status.ok()) status = AddPods(plan, added);
  for (const PodPlan* pod : restarted) {
    if (status.ok()) status = StopProcessesInNetns(pod->netns, kRestartGrace);
  }
  std::vector<const PodPlan*> servers = added;
  servers.insert(servers.end(), restarted.begin(), restarted.end());
  if (status.ok()) status = StartPodServers(names, state.flatwall_binary, servers);
  if (status.ok()) status = ApplyServiceRules(plan);
  if (status.ok()) status = WriteManifests(names, desired, plan);
  if (status.ok()) status = WaitForAgents(names, state, plan);
  if (status.ok()) status = RemovePods(old_plan, removed_old);
  state.plan = plan;
  if (status.ok()) status = SaveLabState(names.StateFile(), state);
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(status.message(),
                                                    "\nthe lab may be half-changed: rebuild it "
                                                    "(flatwall lab down, then up)"));
  }
  report.plan = std::move(plan);
  return report;
}

absl::StatusOr<LabState> LabStatus(const std::string& name) { return LoadRunning(name); }

absl::StatusOr<std::vector<ProbeResult>> LabProbe(const std::string& name,
                                                  const ProbeOptions& options) {
  FW_RETURN_IF_ERROR(RequireRoot());
  FW_ASSIGN_OR_RETURN(LabState state, LoadRunning(name));
  return ProbeAllPairs(state.plan, options);
}

absl::StatusOr<TeardownReport> LabDown(const std::string& name) {
  FW_RETURN_IF_ERROR(RequireRoot());
  return TearDownLab(name);
}

}  // namespace flatwall::lab
