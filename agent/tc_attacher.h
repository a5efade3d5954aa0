// Attaching the datapath programs to interfaces: tc clsact hooks, direct action, one
// Flatwall filter per hook (handle 1, priority 1) replaced in place on re-attach, so an
// upgrade or agent restart swaps programs without a moment unfiltered.
//
// Not here: which interface gets which program (the agent's reconcile loop).
#ifndef FLATWALL_AGENT_TC_ATTACHER_H_
#define FLATWALL_AGENT_TC_ATTACHER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flatwall::agent {

// A pod's host-side veth: ingress runs FW_HOOK_FROM_POD, egress FW_HOOK_TO_POD. The
// node's uplink: egress runs FW_HOOK_UPLINK.
enum class TcHook { kIngress, kEgress };

// Attaches `program_fd` to the clsact `hook` of interface `ifindex` in the calling
// thread's network namespace, creating the clsact qdisc when missing and replacing
// Flatwall's previous filter there. Errors: NotFound when the interface does not exist
// ("attach tc ingress to ifindex 7: No such device"); others from netlink.
absl::Status AttachTc(int ifindex, TcHook hook, int program_fd);

// Removes Flatwall's filter from the hook; OK when none is attached. The clsact qdisc
// stays (other filters may use it). NotFound when the interface does not exist.
absl::Status DetachTc(int ifindex, TcHook hook);

// The kernel id of the program Flatwall has attached to the hook, 0 when none.
// NotFound when the interface does not exist.
absl::StatusOr<uint32_t> AttachedTcProgramId(int ifindex, TcHook hook);

// The program in Flatwall's filter slot of the hook, as the tc filter dump describes it.
// Reading it needs no privilege beyond what attaching needs (opening a program by id
// would need CAP_SYS_ADMIN), and it also names programs of an earlier agent whose ids
// are not ours.
struct TcProgram {
  uint32_t id = 0;   // 0 when the slot is empty
  std::string name;  // the kernel program name ("fw_from_pod"); empty when the filter
                     // carries no name libbpf's attach would have given it
};

// The program of Flatwall's filter on the hook; {0, ""} when there is none, also when the
// interface or its clsact qdisc does not exist (a dump of a missing interface is empty).
// Errors from netlink.
absl::StatusOr<TcProgram> AttachedTcProgram(int ifindex, TcHook hook);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_TC_ATTACHER_H_
