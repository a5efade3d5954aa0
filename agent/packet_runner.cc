#include "agent/packet_runner.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"

namespace flatwall::agent {
namespace {

constexpr size_t kMinFrameBytes = 14;  // an Ethernet header
constexpr size_t kMaxFrameBytes = 3500;  // what fits a page after the kernel's headroom

}  // namespace

absl::StatusOr<TestRun> TestRunProgram(int program_fd, const std::vector<uint8_t>& frame,
                                       const __sk_buff& context_in, uint32_t repeat,
                                       const std::string& what) {
  TestRun result;
  bpf_test_run_opts run{};
  run.sz = sizeof(run);
  run.data_in = frame.data();
  run.data_size_in = static_cast<uint32_t>(frame.size());
  run.ctx_in = &context_in;
  run.ctx_size_in = sizeof(context_in);
  run.ctx_out = &result.context_out;
  run.ctx_size_out = sizeof(result.context_out);
  run.repeat = repeat;
  if (bpf_prog_test_run_opts(program_fd, &run) != 0) return BpfError(errno, what);
  result.retval = run.retval;
  result.duration_ns = run.duration;
  return result;
}

absl::StatusOr<RunResult> PacketRunner::Run(fw_hook hook, const std::vector<uint8_t>& frame,
                                            const RunOptions& options) const {
  if (frame.size() < kMinFrameBytes || frame.size() > kMaxFrameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("test-run a ", frame.size(), "-byte frame: BPF_PROG_TEST_RUN takes ",
                     kMinFrameBytes, " to ", kMaxFrameBytes, " bytes"));
  }
  __sk_buff context_in{};
  context_in.mark = options.mark;
  context_in.ifindex = options.ifindex;
  absl::StatusOr<TestRun> run =
      TestRunProgram(datapath_.program_fd(hook), frame, context_in, options.repeat,
                     absl::StrCat("test-run program ", ProgramPinName(hook)));
  if (!run.ok()) return run.status();
  const __sk_buff& context_out = run->context_out;
  RunResult result;
  result.tc_action = static_cast<int>(run->retval);
  result.verdict = result.tc_action == TC_ACT_OK ? FW_VERDICT_ALLOW : FW_VERDICT_DENY;
  result.reason = static_cast<fw_reason>(context_out.cb[FW_CB_REASON]);
  result.rule_id = context_out.cb[FW_CB_RULE_ID];
  result.local_identity = context_out.cb[FW_CB_LOCAL_IDENTITY];
  result.remote_identity = context_out.cb[FW_CB_REMOTE_IDENTITY];
  result.direction = static_cast<fw_direction>(context_out.cb[FW_CB_DIRECTION]);
  result.mark = context_out.mark;
  result.duration_ns = run->duration_ns;
  return result;
}

}  // namespace flatwall::agent
