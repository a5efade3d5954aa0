// The addresses a pod may send from, bound to its host-side veth in fw_veth_v1 (or
// fw_veth_big_v1 for ifindexes past the array): the from-pod program drops any other
// source with FW_REASON_SPOOFED, and drops everything from a veth with no binding. The
// agent binds a veth before attaching the programs to it and unbinds it after detaching.
//
// Not here: attaching programs (tc_attacher.h), which pod owns which veth (the agent's
// reconcile loop).
#ifndef FLATWALL_AGENT_VETH_BINDING_H_
#define FLATWALL_AGENT_VETH_BINDING_H_

#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath.h"
#include "policy-compiler/ip_prefix.h"

namespace flatwall::agent {

// The ifindex of the device BPF_PROG_TEST_RUN runs packets on (loopback): what test
// runs of the from-pod program are checked against (PacketRunner, FlowProber).
inline constexpr int kTestRunIfindex = 1;

// Sets the addresses (IPv4 and/or IPv6, at most FW_VETH_MAX_ADDRS) the pod behind veth
// `ifindex` may send from, replacing an earlier binding. InvalidArgument for an ifindex
// < 1 or too many addresses; ResourceExhausted when fw_veth_big_v1 is full; others from
// the kernel.
absl::Status BindVeth(const Datapath& datapath, int ifindex,
                      const std::vector<compiler::IpAddress>& addresses);

// Removes the veth's binding; OK when there is none. InvalidArgument for an ifindex < 1.
absl::Status UnbindVeth(const Datapath& datapath, int ifindex);

// The addresses bound to the veth; empty when unbound.
absl::StatusOr<std::vector<compiler::IpAddress>> VethAddresses(const Datapath& datapath,
                                                               int ifindex);

// Every binding in fw_veth_v1 (its used slots) and fw_veth_big_v1: ifindex -> addresses.
// How a restarted agent finds the veths an earlier run bound. Errors from the kernel.
absl::StatusOr<std::map<int, std::vector<compiler::IpAddress>>> BoundVeths(
    const Datapath& datapath);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_VETH_BINDING_H_
