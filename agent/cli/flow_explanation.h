// The pieces of `flatwall explain` that both of its forms use — from manifest files and
// against a live node (explain_live.h): naming a flow's ends, asking the real programs
// for a verdict, and saying why each side decided as it did, as text or JSON.
//
// Not here: the commands' options and output layout (command_explain.cc,
// explain_live.cc); the verdict lookup itself (policy-compiler/policy_lookup.h).
#ifndef FLATWALL_AGENT_CLI_FLOW_EXPLANATION_H_
#define FLATWALL_AGENT_CLI_FLOW_EXPLANATION_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "agent/bpf_flow_judge.h"
#include "nlohmann/json.hpp"
#include "policy-compiler/cluster_state.h"
#include "policy-compiler/map_image.h"
#include "policy-compiler/policy_lookup.h"

namespace flatwall::cli {

struct FlowEnd {
  std::string name;  // "ns/pod", or the address for a non-pod end
  compiler::IpAddress address;
};

// "ns/pod" names a pod of `state` (its first IP of `family_hint`'s family when given),
// anything else must be an IP address. NotFound for an unknown pod; InvalidArgument for
// a host-network pod, a pod without an IP of the family, or text that is neither.
absl::StatusOr<FlowEnd> ResolveEnd(const compiler::ClusterState& state, const std::string& text,
                                   const compiler::IpAddress* family_hint);

// The flow as the programs decide it, both sides (the destination's also when the
// source's egress drops the packet: what it would decide were the packet let through).
// Errors from BpfFlowJudge::Probe.
absl::StatusOr<compiler::FlowVerdict> ProgramVerdict(agent::BpfFlowJudge& bpf, const FlowEnd& from,
                                                     const FlowEnd& to, uint8_t protocol,
                                                     uint16_t port);

// The image's endpoint information of `address`; null when it has none.
const compiler::EndpointInfo* FindEndpoint(const compiler::MapImage& image,
                                           const compiler::IpAddress& address);

// Why one side decided as it did, e.g. "allowed by shop/web-from-lb ingress[0]"; rules
// are named through the image's rule table ("rule 0x…" when it has none).
std::string ReasonText(const compiler::MapImage& image, const compiler::PolicyVerdict& verdict,
                       fw_direction dir);

// One side as JSON: allowed, explanation, and the isolating policies and rule when known.
nlohmann::json SideJson(const compiler::MapImage& image, const compiler::PolicyVerdict& verdict,
                        fw_direction dir, const compiler::EndpointInfo* endpoint);

// One side as two or three indented lines under `title`.
void PrintSide(const compiler::MapImage& image, const std::string& title,
               const compiler::PolicyVerdict& verdict, fw_direction dir,
               const compiler::EndpointInfo* endpoint, std::ostream& out);

}  // namespace flatwall::cli

#endif  // FLATWALL_AGENT_CLI_FLOW_EXPLANATION_H_
