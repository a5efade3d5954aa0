// Finding and stopping the processes that live in a lab's namespaces. A process is found
// by the namespace it is in (its /proc/<pid>/ns/net), not by its name, so lab down also
// finds the processes of a lab whose state file was lost, and never touches any other.
//
// Not here: starting them (daemon_spawner.h).
#ifndef FLATWALL_AGENT_LAB_PROCESSES_H_
#define FLATWALL_AGENT_LAB_PROCESSES_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace flatwall::lab {

// Live processes in the named network namespace, sorted; empty when it does not exist.
std::vector<pid_t> ProcessesInNetns(const std::string& netns);

// True while any thread of process `pid` has not exited. A zombie waiting to be reaped
// counts as exited once all its threads have: then it holds no sockets and no namespace.
bool ProcessAlive(pid_t pid);

// True when `pid` is alive and in the named network namespace: guards a signal sent to a
// pid read from a file against that pid having been reused.
bool ProcessInNetns(pid_t pid, const std::string& netns);

// Sends SIGTERM to every pid, waits up to `grace` for them to exit, then SIGKILLs the
// rest and waits again. Internal when one is still alive after that (it names the pids).
absl::Status StopProcesses(const std::vector<pid_t>& pids, std::chrono::milliseconds grace);

// SIGKILL only — what a crash looks like to the process — then waits as StopProcesses does.
absl::Status KillProcesses(const std::vector<pid_t>& pids);

// StopProcesses for every process in the namespace.
absl::Status StopProcessesInNetns(const std::string& netns, std::chrono::milliseconds grace);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_PROCESSES_H_
