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
#include "agent/daemon/agent_log.h"

namespace flatwall::agent {

// Where cluster state comes from.
struct SourceConfig {
  enum Kind { kDirectory, kKubernetes };
  Kind kind = kDirectory;
  std::string directory;  // kDirectory: the watched manifest directory
};

struct AgentConfig {
  std::string node_name;  // pods scheduled here are enforced here
  SourceConfig source;
  std::string bpffs_root = "/sys/fs/bpf/flatwall";
  // "-" for stdout, "off" for no verdict log, else a file rotated by size.
  std::string verdict_log = "-";
  uint64_t verdict_log_max_bytes = 100ull << 20;
  int verdict_log_max_files = 5;
  std::string listen = "0.0.0.0:9464";  // host:port of /metrics, /healthz, /readyz
  LogLevel log_level = LogLevel::kInfo;
  // The node's uplink (FW_HOOK_UPLINK on its egress); empty: the default route's interface.
  std::string uplink;
  bool uninstall = false;  // remove every pin and attachment, then exit
};

// Reads the flags in `args` (without the program name) and, for each flag not given, its
// environment variable through `getenv` (so tests need not touch the process's
// environment). InvalidArgument naming the flag or variable for an unknown flag, a
// missing value, an unparsable value, or a missing node name (except with --uninstall).
absl::StatusOr<AgentConfig> ParseAgentConfig(
    const std::vector<std::string>& args,
    const std::function<const char*(const char*)>& getenv);

// The --help text: every flag with its variable and default.
std::string AgentUsage();

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_AGENT_CONFIG_H_
