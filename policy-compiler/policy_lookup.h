// The datapath's policy decision, run over a MapImage in userspace: `flatwall
// matrix/explain` and the tests ask the compiled tables — not a second implementation of
// NetworkPolicy semantics — whether a flow is allowed. datapath/bpf implements the same
// steps in the same order, over the same tables.
//
// Not here: conntrack, ICMPv6 neighbour discovery, fragments and malformed packets (the
// datapath's own concerns before this lookup), Service translation.
#ifndef FLATWALL_POLICY_COMPILER_POLICY_LOOKUP_H_
#define FLATWALL_POLICY_COMPILER_POLICY_LOOKUP_H_

#include <cstdint>

#include "abi/common.h"
#include "abi/verdict.h"
#include "policy-compiler/ip_prefix.h"
#include "policy-compiler/map_image.h"

namespace flatwall::compiler {

// One direction of a flow, from the local pod's point of view.
struct FlowQuery {
  IpAddress local;   // the pod whose policy is asked (destination for ingress)
  IpAddress remote;  // the other end
  fw_direction direction = FW_DIR_INGRESS;
  uint8_t protocol = 0;  // IPPROTO_*
  uint16_t port = 0;     // destination port, host order; 0 for ICMP
};

struct PolicyVerdict {
  fw_verdict verdict = FW_VERDICT_ALLOW;
  fw_reason reason = FW_REASON_NONE;
  uint32_t rule_id = 0;          // FW_REASON_RULE only
  uint32_t local_identity = 0;   // 0 when the local address is not an endpoint
  uint32_t remote_identity = 0;  // from fw_ipcache, or FW_IDENTITY_WORLD
  uint32_t cidr_class = 0;       // the remote address's class, 0 for none
  // The datapath emits an event when it allows a new flow with this set: the endpoint's
  // FW_EP_LOG_ALLOWED, or the allowing rule entry's FW_RULE_LOG_ALLOWED.
  bool log_allowed = false;
};

// Decides one direction of a flow with the datapath's algorithm (steps in policy_lookup.cc).
PolicyVerdict LookupPolicy(const MapImage& image, const FlowQuery& query);

// Both ends of a flow from `source` to `destination`: the egress policy of the source (if
// it is a local endpoint) and the ingress policy of the destination (if it is one). The
// flow passes only if both sides allow it; a side that is no endpoint allows with
// FW_REASON_NO_ENDPOINT.
struct FlowVerdict {
  bool allowed = true;
  PolicyVerdict egress;   // decided at the source
  PolicyVerdict ingress;  // decided at the destination
};
FlowVerdict CheckFlow(const MapImage& image, const IpAddress& source,
                      const IpAddress& destination, uint8_t protocol, uint16_t port);

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_POLICY_LOOKUP_H_
