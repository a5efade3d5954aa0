// Running one Flatwall agent per lab node, inside the node's namespace, as a DaemonSet
// would: each with its own bpffs pin root, its own copy of the manifests (which `lab
// apply` updates and the agent watches), its own verdict log and listen address.
//
// The agent counts as started once its /readyz answers 200 (its first full state is
// enforced), so that `lab up` returns with policies enforced.
//
// Not here: the agent itself (agent/); the manifests it reads (manifest_units.h).
#ifndef FLATWALL_AGENT_LAB_AGENT_LAUNCHER_H_
#define FLATWALL_AGENT_LAB_AGENT_LAUNCHER_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/lab/lab_names.h"
#include "agent/lab/topology_plan.h"

namespace flatwall::lab {

// Every agent listens on this port of its node namespace's own loopback.
inline constexpr uint16_t kAgentListenPort = 9464;

struct AgentConfig {
  std::string node_name;     // "node-1"
  std::string manifest_dir;  // watched: /run/flatwall-lab/<lab>/nodes/node-1/manifests
  std::string bpffs_root;    // /sys/fs/bpf/flatwall-lab-<lab>-node-1
  std::string verdict_log;   // /run/flatwall-lab/<lab>/nodes/node-1/verdicts.jsonl
  std::string listen;        // "127.0.0.1:9464"
  // Non-empty: the agent reads the cluster from a Kubernetes API server (`--source
  // kubernetes --kubeconfig FILE`, e.g. a test's fake API in the fabric namespace) instead
  // of manifest_dir.
  std::string kubeconfig;
};

// The agent's arguments after the program name. The one place that knows the agent's
// command line: adjust it here when the agent's flags change.
std::vector<std::string> AgentArguments(const AgentConfig& config);

// "flatwall-agent" in the directory of `flatwall_binary` or the one above it (the build
// puts them in build/agent/cli/ and build/agent/). NotFound saying where it looked and
// what to do instead (--agent PATH or --no-agents).
absl::StatusOr<std::string> DefaultAgentPath(const std::string& flatwall_binary);

class AgentLauncher {
 public:
  // `kubeconfig`: see AgentConfig::kubeconfig. WaitUntilSynced needs the directory source.
  AgentLauncher(LabNames names, std::string agent_binary, std::string kubeconfig = "")
      : names_(std::move(names)),
        agent_binary_(std::move(agent_binary)),
        kubeconfig_(std::move(kubeconfig)) {}

  AgentConfig ConfigFor(const NodePlan& node) const;

  // Creates the node's bpffs root and starts the agent in the node's namespace, then waits
  // up to 10 seconds for it to be ready. FailedPrecondition when it is already running or
  // bpffs is not mounted at /sys/fs/bpf;
  // Internal (with the end of its log) when it cannot start or exits; DeadlineExceeded
  // when it is not ready in time (it is left running, for its log to be read).
  absl::Status Start(const NodePlan& node);
  // Makes the agent re-read its manifest directory (a marker file changes there) and waits
  // up to 10 seconds until it has enforced what it read: its metric
  // flatwall_source_synced_timestamp_seconds passes the moment of this call. OK when the
  // agent is not running; DeadlineExceeded when it does not catch up.
  absl::Status WaitUntilSynced(const NodePlan& node) const;
  // SIGTERM, then SIGKILL after 5 seconds: an orderly stop. OK when it is not running.
  absl::Status Stop(const NodePlan& node);
  // SIGKILL: a crash. OK when it is not running.
  absl::Status Kill(const NodePlan& node);
  // The running agent's pid.
  std::optional<pid_t> Pid(const NodePlan& node) const;

 private:
  std::string PidFile(const NodePlan& node) const;
  std::string LogFile(const NodePlan& node) const;
  absl::Status WaitUntilReady(const NodePlan& node, pid_t pid) const;

  LabNames names_;
  std::string agent_binary_;
  std::string kubeconfig_;
};

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_AGENT_LAUNCHER_H_
