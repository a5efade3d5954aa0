// Answering "would this flow be allowed?" with the real programs: the first packet of a
// flow goes through the source's from-pod program and, if it passes, the destination's
// to-pod program, as on a node where both pods are local. `flatwall matrix --datapath
// bpf` and the reachability suite use it against maps written from a compiled image.
//
// Not here: Service translation (probe backends directly), single packets
// (packet_runner.h).
#ifndef FLATWALL_AGENT_FLOW_PROBER_H_
#define FLATWALL_AGENT_FLOW_PROBER_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "agent/datapath.h"
#include "agent/packet_runner.h"
#include "policy-compiler/ip_prefix.h"

namespace flatwall::agent {

struct Flow {
  compiler::IpAddress source;
  compiler::IpAddress destination;
  uint8_t protocol = 6;           // IPPROTO_TCP, _UDP, _SCTP, _ICMP or _ICMPV6
  uint16_t destination_port = 0;  // host order; ignored for ICMP
};

struct FlowVerdict {
  bool allowed = false;  // both hooks passed the packet
  RunResult from_pod;    // the source's egress decision
  // The destination's ingress decision, also when from_pod dropped the packet (what the
  // destination would decide were it let through).
  RunResult to_pod;
};

class FlowProber {
 public:
  // `datapath` must outlive the prober.
  explicit FlowProber(const Datapath& datapath) : runner_datapath_(datapath), runner_(datapath) {}

  // Sends the flow's first packet: a TCP SYN, a UDP datagram, an SCTP INIT, an ICMP(v6)
  // echo request, or an empty datagram of another protocol. Each probe takes the next
  // source port (ICMP: identifier) in 32768..60999, so earlier probes' conntrack entries
  // do not answer for it. The from-pod run comes from the test-run device (loopback),
  // which the probe binds to the flow's source first (veth_binding.h): the probe plays
  // that pod. Errors from PacketRunner::Run and BindVeth.
  absl::StatusOr<FlowVerdict> Probe(const Flow& flow);

 private:
  const Datapath& runner_datapath_;
  PacketRunner runner_;
  uint16_t next_source_port_ = kFirstSourcePort;
  static constexpr uint16_t kFirstSourcePort = 32768;
  static constexpr uint16_t kLastSourcePort = 60999;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_FLOW_PROBER_H_
