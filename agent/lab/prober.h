// Real connections between every ordered pair of lab pods, each made from inside the
// source pod's namespace: TCP connect + request/response, or a UDP datagram + reply. A
// flow counts as allowed when the destination's server answers with the destination's
// name within the timeout. Probes run concurrently (up to kMaxProbesInFlight), so the
// nine pods' 81 pairs take about one timeout in the worst case.
//
// Not here: the server side (pod_server.h); printing (agent/cli/reachability_output.h).
#ifndef FLATWALL_AGENT_LAB_PROBER_H_
#define FLATWALL_AGENT_LAB_PROBER_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/lab/topology_plan.h"
#include "policy-compiler/reachability.h"

namespace flatwall::lab {

inline constexpr int kMaxProbesInFlight = 128;

struct ProbeOptions {
  uint16_t port = 80;  // the destination pod's port (with via_service: the Service's target)
  compiler::Protocol protocol = compiler::Protocol::kTcp;  // TCP or UDP
  // Address each destination by the cluster IP of a Service whose only backend it is
  // (FindServiceFor), as the upstream e2e suite does; a pod probing itself always uses
  // its own address, which never leaves the pod.
  bool via_service = false;
  std::chrono::milliseconds timeout{1000};
};

enum class ProbeOutcome {
  kAnswered,     // the destination answered: allowed
  kWrongAnswer,  // someone else answered (detail: the reply)
  kRefused,      // TCP reset or ICMP port unreachable: nothing listens
  kUnreachable,  // ICMP host/network unreachable, or no route
  kTimedOut,     // no answer in time: dropped on the way
  kNoService,    // via_service, and no Service reaches only the destination on the port
  kNoAddress,    // the pods share no address family
  kError,        // anything else (detail: the error)
};
std::string_view ProbeOutcomeName(ProbeOutcome outcome);

struct ProbeResult {
  compiler::ReachabilityResult reachability;  // allowed == (outcome == kAnswered)
  ProbeOutcome outcome = ProbeOutcome::kError;
  std::string address;  // "ip:port" the probe went to
  std::string detail;
};

// Probes every ordered pair of the plan's pods, sorted by (from, to) like `flatwall
// matrix`. InvalidArgument for SCTP (this kernel has no SCTP sockets); NotFound or
// Internal when a pod's namespace cannot be entered (the lab is broken; rebuild it).
absl::StatusOr<std::vector<ProbeResult>> ProbeAllPairs(const TopologyPlan& plan,
                                                       const ProbeOptions& options);

// The probe of one ordered pair alone (the plan's other pods take no part). NotFound
// when either pod is not in the plan; otherwise as ProbeAllPairs.
absl::StatusOr<ProbeResult> ProbePair(const TopologyPlan& plan, const std::string& from,
                                      const std::string& to, const ProbeOptions& options);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_PROBER_H_
