// The agent process: loads (or adopts) the pinned datapath, reads the cluster state
// from its source, enforces it (reconciler.h), keeps enforcing every change, writes the
// verdict log, and serves /metrics, /healthz and /readyz — until SIGTERM or SIGINT, after
// which the programs and maps stay pinned and attached, so enforcement continues while
// the agent is away (a restart or upgrade adopts them again).
//
// One thread runs the loop: it waits on the source's descriptor, the verdict ring buffer
// and a signalfd, and ticks every second (every 200 ms while a pod waits for its veth)
// to retry, resync and sample metrics. The HTTP server answers from its own threads.
//
// Not here: the parts themselves (reconciler.h, the sources of cluster_source.h,
// verdict_log.h, agent_metrics.h, http_endpoints.h).
#ifndef FLATWALL_AGENT_DAEMON_AGENT_DAEMON_H_
#define FLATWALL_AGENT_DAEMON_AGENT_DAEMON_H_

#include "absl/status/status.h"
#include "agent/daemon/agent_config.h"

namespace flatwall::agent {

// Runs until SIGTERM/SIGINT (OK) or a failure that leaves the agent unable to work: the
// datapath cannot be loaded (FailedPrecondition without bpffs, PermissionDenied without
// privileges), the source cannot be opened (NotFound for a missing directory; the
// kubeconfig or service-account errors of api-watch/client_config.h), or the listen
// address is taken. Errors while running (a bad manifest, a full map, a missing veth, an
// unreachable API server) are logged, counted and retried, never fatal; with the
// kubernetes source the first state is enforced once every resource has listed.
absl::Status RunAgent(const AgentConfig& config);

// Detaches every Flatwall program in this network namespace, removes every binding and
// every pin under config.bpffs_root (and the directory). OK when nothing is pinned there.
absl::Status UninstallAgent(const AgentConfig& config);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_AGENT_DAEMON_H_
