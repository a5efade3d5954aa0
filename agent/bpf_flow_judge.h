// Judging flows with the real BPF programs instead of the compiled tables' userspace
// lookup: a FlowJudge adapter over FlowProber, and BpfFlowJudge, which owns a throwaway
// datapath (loaded under a pin root unique to the process, holding one compiled image) and
// removes its pins when destroyed. `flatwall matrix|explain --datapath bpf` use the latter;
// the BPF reachability suite uses the adapter over its own fixture's datapath.
//
// Not here: sending the packets (flow_prober.h), the reachability computation
// (policy-compiler/reachability.h).
#ifndef FLATWALL_AGENT_BPF_FLOW_JUDGE_H_
#define FLATWALL_AGENT_BPF_FLOW_JUDGE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath.h"
#include "agent/flow_prober.h"
#include "policy-compiler/map_image.h"
#include "policy-compiler/reachability.h"

namespace flatwall::agent {

// A FlowJudge that probes each flow with `prober`. A FlowJudge cannot fail, so a probe
// error judges the flow denied and is kept in `*first_error` (the first one only; it is
// left untouched while probes succeed). `prober` and `first_error` must outlive the judge.
compiler::FlowJudge JudgeWithProber(FlowProber& prober, absl::Status* first_error);

class BpfFlowJudge {
 public:
  // Loads the datapath under `pin_root` (which must not exist yet: the object removes it
  // again) and writes `image`, which must hold every endpoint to judge (compile with
  // CompileOptions::all_nodes).
  // Errors: PermissionDenied when not running as root; AlreadyExists when pin_root
  // exists; FailedPrecondition when its parent is not on bpffs; others from
  // Datapath::Load and MapWriter::Apply. On error nothing is left under pin_root.
  static absl::StatusOr<std::unique_ptr<BpfFlowJudge>> Create(const std::string& pin_root,
                                                              const compiler::MapImage& image);

  // "/sys/fs/bpf/flatwall-cli-<pid>-<n>": unique within the host while the process runs.
  static std::string TemporaryPinRoot();

  // Removes every pin and the pin root.
  ~BpfFlowJudge();
  BpfFlowJudge(const BpfFlowJudge&) = delete;
  BpfFlowJudge& operator=(const BpfFlowJudge&) = delete;

  // The first packet of `flow` through the from-pod and to-pod programs. Errors from
  // FlowProber::Probe.
  absl::StatusOr<FlowVerdict> Probe(const Flow& flow) { return prober_.Probe(flow); }

  // A judge over Probe; see JudgeWithProber for errors, reported by status(). Valid
  // while this object lives.
  compiler::FlowJudge Judge() { return JudgeWithProber(prober_, &first_error_); }
  // OK, or the first probe error a Judge() judge met.
  const absl::Status& status() const { return first_error_; }

 private:
  explicit BpfFlowJudge(std::unique_ptr<Datapath> datapath);

  std::unique_ptr<Datapath> datapath_;
  FlowProber prober_;
  absl::Status first_error_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_BPF_FLOW_JUDGE_H_
