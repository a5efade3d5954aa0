// Removing everything a lab made — the processes in its namespaces (pod servers, agents),
// the namespaces (and with them every veth, route and iptables rule, which all live
// inside), the agents' bpffs pin roots and the state directory. Everything is found by
// its name prefix, not from the state file, so this also cleans up after a lab or a
// caller that crashed half-way. Idempotent: with nothing left, it does nothing.
//
// Not here: removing single pods during `lab apply` (topology_builder.h).
#ifndef FLATWALL_AGENT_LAB_TEARDOWN_H_
#define FLATWALL_AGENT_LAB_TEARDOWN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flatwall::lab {

struct TeardownReport {
  int processes_stopped = 0;
  std::vector<std::string> namespaces_deleted;
  std::vector<std::string> pin_roots_removed;
  bool state_dir_removed = false;

  bool nothing_found() const {
    return processes_stopped == 0 && namespaces_deleted.empty() && pin_roots_removed.empty() &&
           !state_dir_removed;
  }
};

// Tears down lab `lab_name` (which must pass ValidateLabName: InvalidArgument otherwise).
// Goes on past errors and then returns the first (Internal), so one stuck piece does not
// keep the rest alive; running it again retries what is left.
absl::StatusOr<TeardownReport> TearDownLab(const std::string& lab_name);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_TEARDOWN_H_
