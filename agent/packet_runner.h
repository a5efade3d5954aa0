// Running one packet through one datapath program with BPF_PROG_TEST_RUN, the way tests,
// benchmarks and `flatwall matrix --datapath bpf` exercise the real, loaded code. The
// program runs against the live maps: conntrack, counters and events change as they would
// for a real packet.
//
// Not here: building packets (packet_builder.h), probing whole flows (flow_prober.h).
#ifndef FLATWALL_AGENT_PACKET_RUNNER_H_
#define FLATWALL_AGENT_PACKET_RUNNER_H_

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "abi/common.h"
#include "abi/datapath_maps.h"
#include "abi/verdict.h"
#include "absl/status/statusor.h"
#include "agent/datapath.h"

namespace flatwall::agent {

struct RunOptions {
  uint32_t mark = 0;    // skb->mark on entry (e.g. the Service mark after kube-proxy)
  uint32_t repeat = 1;  // runs of the same packet; the result is the last run's
  // skb->ifindex: the device the packet arrives on (the from-pod hook checks the source
  // address against this veth's binding, veth_binding.h). 0: loopback (ifindex 1), the
  // kernel's default; another value must name an existing interface.
  uint32_t ifindex = 0;
};

struct RunResult {
  int tc_action = 0;  // TC_ACT_OK (0) or TC_ACT_SHOT (2)
  fw_verdict verdict = FW_VERDICT_ALLOW;  // ALLOW iff tc_action is TC_ACT_OK
  // From skb->cb (enum fw_cb_slot): what decided.
  fw_reason reason = FW_REASON_NONE;
  uint32_t rule_id = 0;
  uint32_t local_identity = 0;
  uint32_t remote_identity = 0;
  fw_direction direction = FW_DIR_INGRESS;
  uint32_t mark = 0;         // skb->mark on return
  uint32_t duration_ns = 0;  // mean time per run, measured by the kernel
};

// One BPF_PROG_TEST_RUN of `frame` through the program `program_fd`, `repeat` times, with
// `context_in` as the skb context (mark, ifindex). The kernel's error becomes a Status
// naming `what` ("test-run program fw_to_pod_v1: Operation not permitted").
struct TestRun {
  uint32_t retval = 0;       // the program's return value (a TC_ACT_*)
  uint32_t duration_ns = 0;  // mean time per run, measured by the kernel
  __sk_buff context_out{};   // the context after the run (cb[], mark)
};
absl::StatusOr<TestRun> TestRunProgram(int program_fd, const std::vector<uint8_t>& frame,
                                       const __sk_buff& context_in, uint32_t repeat,
                                       const std::string& what);

class PacketRunner {
 public:
  // `datapath` must outlive the runner.
  explicit PacketRunner(const Datapath& datapath) : datapath_(datapath) {}

  // Runs `frame` through the program of `hook`. InvalidArgument for a frame shorter than
  // an Ethernet header or longer than a page, and (from the kernel, since Linux 6.x) for
  // an IPv4/IPv6 frame without its fixed 20/40-byte IP header: the program handles such
  // packets, but BPF_PROG_TEST_RUN will not deliver them. Other errors from the kernel
  // ("test-run program fw_to_pod_v1: Operation not permitted").
  absl::StatusOr<RunResult> Run(fw_hook hook, const std::vector<uint8_t>& frame,
                                const RunOptions& options = {}) const;

 private:
  const Datapath& datapath_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_PACKET_RUNNER_H_
