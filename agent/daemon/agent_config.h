// The agent's configuration: command-line flags, each also settable by an environment
// variable (the flag wins), so a DaemonSet can pass NODE_NAME from the downward API.
//
// Not here: acting on the configuration (agent_daemon.h).
#ifndef FLATWALL_AGENT_DAEMON_AGENT_CONFIG_H_
#define FLATWALL_AGENT_DAEMON_AGENT_CONFIG_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/daemon/agent_log.h"

namespace flatwall::agent {

// Where cluster state comes from.
struct SourceConfig {
  enum Kind { kDirectory, kKubernetes };
  Kind kind = kDirectory;
  std::string directory;  // kDirectory: the watched manifest directory
  // kKubernetes: a kubeconfig file and a context of it. Both empty: in-cluster (the
  // service account) when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
  std::string kubeconfig;
  std::string context;
};

struct AgentConfig {
  std::string node_name;  // pods scheduled here are enforced here
  SourceConfig source;
  std::string bpffs_root = "/sys/fs/bpf/flatwall";
  // "-" for stdout, "off" for no verdict log, else a file rotated by size.
  std::string verdict_log = "-";
  uint64_t verdict_log_max_bytes = 100ull << 20;
  int verdict_log_max_files = 5;
  // Repeats of a flow within this interval become one record (0: every event).
  absl::Duration verdict_log_aggregate = absl::Seconds(5);
  std::string listen = "0.0.0.0:9464";  // host:port of /metrics, /healthz, /readyz
  LogLevel log_level = LogLevel::kInfo;
  // The node's uplink (FW_HOOK_UPLINK on its egress); empty: the default route's interface.
  std::string uplink;
  // Per-flow packet and byte counters in the conntrack entries (FW_CFG_CT_ACCOUNTING).
  bool conntrack_accounting = false;
  bool uninstall = false;  // remove every pin and attachment, then exit
};

// Reads the flags in `args` (without the program name) and, for each flag not given, its
// environment variable through `getenv` (so tests need not touch the process's
// environment). A boolean flag alone means true; `--flag=false` and its variable take
// true or false. Without --source (and FLATWALL_SOURCE) the source is kubernetes inside a
// cluster (KUBERNETES_SERVICE_HOST set). InvalidArgument naming the flag or variable for
// an unknown flag, a missing value, an unparsable value, a missing node name or source
// (except with --uninstall), or --kubeconfig/--context with a source other than kubernetes.
absl::StatusOr<AgentConfig> ParseAgentConfig(
    const std::vector<std::string>& args,
    const std::function<const char*(const char*)>& getenv);

// The --help text: every flag with its variable and default.
std::string AgentUsage();

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_AGENT_CONFIG_H_
