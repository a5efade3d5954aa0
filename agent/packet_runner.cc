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
  __sk_buff context_out{};
  bpf_test_run_opts run{};
  run.sz = sizeof(run);
  run.data_in = frame.data();
  run.data_size_in = static_cast<uint32_t>(frame.size());
  run.ctx_in = &context_in;
  run.ctx_size_in = sizeof(context_in);
  run.ctx_out = &context_out;
  run.ctx_size_out = sizeof(context_out);
  run.repeat = options.repeat;
  if (bpf_prog_test_run_opts(datapath_.program_fd(hook), &run) != 0) {
    return BpfError(errno, absl::StrCat("test-run program ", ProgramPinName(hook)));
  }
  RunResult result;
  result.tc_action = static_cast<int>(run.retval);
  result.verdict = result.tc_action == TC_ACT_OK ? FW_VERDICT_ALLOW : FW_VERDICT_DENY;
  result.reason = static_cast<fw_reason>(context_out.cb[FW_CB_REASON]);
  result.rule_id = context_out.cb[FW_CB_RULE_ID];
  result.local_identity = context_out.cb[FW_CB_LOCAL_IDENTITY];
  result.remote_identity = context_out.cb[FW_CB_REMOTE_IDENTITY];
  result.direction = static_cast<fw_direction>(context_out.cb[FW_CB_DIRECTION]);
  result.mark = context_out.mark;
  result.duration_ns = run.duration;
  return result;
}

}  // namespace flatwall::agent
