// Starting each pod's server (`flatwall lab serve`, see pod_server.h) inside the pod's
// namespace, and waiting until it listens, so a probe right after `lab up` or `lab apply`
// never races a server that is still binding.
//
// Not here: what the server does (pod_server.h); stopping it (processes.h: it is the only
// process in the pod's namespace, so stopping the namespace's processes stops it).
#ifndef FLATWALL_AGENT_LAB_SERVER_LAUNCHER_H_
#define FLATWALL_AGENT_LAB_SERVER_LAUNCHER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agent/lab/lab_names.h"
#include "agent/lab/topology_plan.h"

namespace flatwall::lab {

// Starts a server for each pod with `flatwall_binary` and waits up to 10 seconds for all
// to be ready. Internal (with the server's log) when one cannot start or exits early;
// DeadlineExceeded when one is not ready in time.
absl::Status StartPodServers(const LabNames& names, const std::string& flatwall_binary,
                             const std::vector<const PodPlan*>& pods);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_SERVER_LAUNCHER_H_
