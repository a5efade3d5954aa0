// Reachability between every pair of pods in a cluster state, for one port and protocol:
// what `flatwall matrix` prints and what the reachability suites assert. The verdict of
// each flow comes from a FlowJudge — the compiled tables looked up with the datapath's
// algorithm (JudgeWithImage), or the real BPF program (agent/) — never from a second
// implementation of NetworkPolicy semantics.
#ifndef FLATWALL_POLICY_COMPILER_REACHABILITY_H_
#define FLATWALL_POLICY_COMPILER_REACHABILITY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "policy-compiler/cluster_state.h"
#include "policy-compiler/map_image.h"
#include "policy-compiler/model.h"

namespace flatwall::compiler {

struct ReachabilityResult {
  std::string from;  // "namespace/pod"
  std::string to;
  uint16_t port = 0;
  Protocol protocol = Protocol::kTcp;
  bool allowed = false;
};

// True when a flow from `source` to `destination` on (protocol, port) is allowed.
using FlowJudge = std::function<bool(const IpAddress& source, const IpAddress& destination,
                                     Protocol protocol, uint16_t port)>;

// Every ordered pair of pods that are endpoints (not host-network, with an IP), sorted by
// "namespace/name". A pod reaching itself is always allowed: that traffic never leaves the
// pod. Pods are addressed by their first IP of a family both share (IPv4 first).
std::vector<ReachabilityResult> ComputeReachability(const ClusterState& state, uint16_t port,
                                                    Protocol protocol, const FlowJudge& judge);

// Judges flows with policy_lookup over `image`, which must hold the endpoints of both pods
// (compile with CompileOptions::all_nodes). The image must outlive the judge.
FlowJudge JudgeWithImage(const MapImage& image);

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_REACHABILITY_H_
