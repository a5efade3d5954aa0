// Starting a long-lived process (a pod's server, a node's agent) inside a network
// namespace, detached from the caller: it outlives `flatwall lab up`, is in its own
// session, and writes stdout and stderr to a log file.
//
// The child is double-forked so init, not the caller, becomes its parent: a caller that
// later kills it (lab down, or a test) is then never left with a zombie to reap. Only
// async-signal-safe calls happen between fork and exec, so a multi-threaded caller is fine.
//
// Not here: finding and stopping such processes again (processes.h).
#ifndef FLATWALL_AGENT_LAB_DAEMON_SPAWNER_H_
#define FLATWALL_AGENT_LAB_DAEMON_SPAWNER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flatwall::lab {

struct DaemonSpec {
  std::string netns;              // the named network namespace to run in
  std::vector<std::string> argv;  // argv[0]: an absolute path or a program name in PATH
  std::string log_file;           // stdout and stderr are appended here (created if missing)
};

// Starts the process and returns its pid once it has exec'd. NotFound when the program or
// the namespace does not exist; Internal when the log file cannot be opened, or fork,
// setns or exec fails (the message says which).
absl::StatusOr<pid_t> SpawnDaemon(const DaemonSpec& spec);

// The last `lines` lines of a daemon's log file, for an error message; empty when the file
// cannot be read.
std::string LogTail(const std::string& log_file, int lines = 10);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_DAEMON_SPAWNER_H_
