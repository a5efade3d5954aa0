// Running a program (ip, iptables-restore, …) to completion and collecting its output:
// fork/exec with an argument vector, never a shell string, so no name or address in the
// lab can be read as shell syntax.
//
// Not here: long-lived processes in a namespace (daemon_spawner.h).
#ifndef FLATWALL_AGENT_LAB_RUN_COMMAND_H_
#define FLATWALL_AGENT_LAB_RUN_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flatwall::lab {

// Runs argv[0] with arguments argv, feeding it `input` on stdin, and returns its stdout.
// A bare program name is looked up in PATH and then in /usr/sbin, /sbin, /usr/bin and
// /bin (tools such as ip live in sbin, which a non-login PATH may lack).
//
// Status codes: NotFound when the program does not exist; Internal when it exits non-zero
// or dies of a signal (the message holds the command line and its stderr);
// DeadlineExceeded when it runs longer than 60 seconds (it is killed).
absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       const std::string& input = "");

// The absolute path RunCommand would run for `program`; NotFound when there is none.
absl::StatusOr<std::string> FindProgram(const std::string& program);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_RUN_COMMAND_H_
