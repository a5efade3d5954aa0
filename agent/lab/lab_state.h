// What a running lab remembers between `flatwall lab` commands: its options and the plan
// it built, as JSON in /run/flatwall-lab/<name>/lab.json. `lab apply` plans against it,
// `lab probe` reads addresses from it. `lab down` uses it only for a nicer message: it finds
// everything by name prefix, so a lost or half-written state file costs nothing.
//
// Not here: the desired manifests (manifest_units.h keeps them as files next to it).
#ifndef FLATWALL_AGENT_LAB_LAB_STATE_H_
#define FLATWALL_AGENT_LAB_LAB_STATE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/lab/topology_plan.h"

namespace flatwall::lab {

struct LabState {
  std::string flatwall_binary;       // runs the pod servers (`flatwall lab serve`)
  std::optional<std::string> agent;  // the agent binary; nullopt with --no-agents
  TopologyPlan plan;                 // lab name and node count included
};

std::string LabStateToJson(const LabState& state);
// InvalidArgument when `json` is not a lab state of this version.
absl::StatusOr<LabState> LabStateFromJson(const std::string& json);

// Writes to a temporary file and renames it, so a crash leaves the old or the new state.
// Internal on a write error.
absl::Status SaveLabState(const std::string& path, const LabState& state);
// NotFound when there is no state file; InvalidArgument when it cannot be read as one.
absl::StatusOr<LabState> LoadLabState(const std::string& path);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_LAB_STATE_H_
