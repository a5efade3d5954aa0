#include "agent/flow_prober.h"

#include <netinet/in.h>

#include "agent/packet_builder.h"
#include "agent/veth_binding.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {

absl::StatusOr<FlowVerdict> FlowProber::Probe(const Flow& flow) {
  const uint16_t source_port = next_source_port_;
  next_source_port_ =
      source_port == kLastSourcePort ? kFirstSourcePort : static_cast<uint16_t>(source_port + 1);

  PacketBuilder packet(flow.source, flow.destination);
  switch (flow.protocol) {
    case IPPROTO_TCP: packet.Tcp(source_port, flow.destination_port); break;
    case IPPROTO_UDP: packet.Udp(source_port, flow.destination_port).Payload(8); break;
    case IPPROTO_SCTP: packet.Sctp(source_port, flow.destination_port); break;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: packet.IcmpEcho(source_port); break;
    default: packet.Transport(flow.protocol, {}); break;
  }
  const std::vector<uint8_t> frame = packet.Build();

  // The probe plays the source pod: the test-run device is its veth.
  FW_RETURN_IF_ERROR(BindVeth(runner_datapath_, kTestRunIfindex, {flow.source}));
  FlowVerdict verdict;
  FW_ASSIGN_OR_RETURN(verdict.from_pod, runner_.Run(FW_HOOK_FROM_POD, frame));
  // The mark travels with the packet from one veth to the other, as on the node. A packet
  // the source's egress dropped goes on too, so the destination's own decision is known.
  RunOptions onward;
  onward.mark = verdict.from_pod.mark;
  FW_ASSIGN_OR_RETURN(verdict.to_pod, runner_.Run(FW_HOOK_TO_POD, frame, onward));
  verdict.allowed = verdict.from_pod.verdict == FW_VERDICT_ALLOW &&
                    verdict.to_pod.verdict == FW_VERDICT_ALLOW;
  return verdict;
}

}  // namespace flatwall::agent
