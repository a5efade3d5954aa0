#include "agent/tc_attacher.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"

namespace flatwall::agent {
namespace {

// Flatwall's filter on each hook. Priority 1 runs before filters others may add.
constexpr uint32_t kFilterHandle = 1;
constexpr uint32_t kFilterPriority = 1;

bpf_tc_hook MakeHook(int ifindex, TcHook hook) {
  bpf_tc_hook tc_hook{};
  tc_hook.sz = sizeof(tc_hook);
  tc_hook.ifindex = ifindex;
  tc_hook.attach_point = hook == TcHook::kIngress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
  return tc_hook;
}

bpf_tc_opts MakeFilter() {
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = kFilterHandle;
  opts.priority = kFilterPriority;
  return opts;
}

// "attach tc ingress to ifindex 7", "detach tc egress on ifindex 7".
std::string Where(const char* verb, TcHook hook, int ifindex) {
  const bool attach = std::string(verb) == "attach";
  return absl::StrCat(verb, " tc ", hook == TcHook::kIngress ? "ingress" : "egress",
                      attach ? " to" : " on", " ifindex ", ifindex);
}

}  // namespace

absl::Status AttachTc(int ifindex, TcHook hook, int program_fd) {
  bpf_tc_hook tc_hook = MakeHook(ifindex, hook);
  // The qdisc is shared by both hooks and survives us; finding it there is normal.
  if (const int err = bpf_tc_hook_create(&tc_hook); err != 0 && err != -EEXIST) {
    return BpfError(err, absl::StrCat("create clsact qdisc on ifindex ", ifindex));
  }
  bpf_tc_opts filter = MakeFilter();
  filter.prog_fd = program_fd;
  filter.flags = BPF_TC_F_REPLACE;
  if (const int err = bpf_tc_attach(&tc_hook, &filter); err != 0) {
    return BpfError(err, Where("attach", hook, ifindex));
  }
  return absl::OkStatus();
}

absl::Status DetachTc(int ifindex, TcHook hook) {
  bpf_tc_hook tc_hook = MakeHook(ifindex, hook);
  bpf_tc_opts filter = MakeFilter();
  if (const int err = bpf_tc_detach(&tc_hook, &filter); err != 0 && err != -ENOENT) {
    return BpfError(err, Where("detach", hook, ifindex));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> AttachedTcProgramId(int ifindex, TcHook hook) {
  bpf_tc_hook tc_hook = MakeHook(ifindex, hook);
  bpf_tc_opts filter = MakeFilter();
  const int err = bpf_tc_query(&tc_hook, &filter);
  // ENOENT: no such filter (or no clsact qdisc at all); EINVAL: the same, on some kernels.
  if (err == -ENOENT || err == -EINVAL) return 0;
  if (err != 0) return BpfError(err, Where("query", hook, ifindex));
  return filter.prog_id;
}

}  // namespace flatwall::agent
