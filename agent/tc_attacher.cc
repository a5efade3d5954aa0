#include "agent/tc_attacher.h"

#include <bpf/libbpf.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"
#include "agent/netlink_dump.h"
#include "policy-compiler/status_macros.h"

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

// The attributes of a netlink message or nested attribute, by type (nested flags masked).
template <typename Visit>
void ForEachAttribute(const rtattr* first, int length, Visit visit) {
  for (const rtattr* attribute = first; RTA_OK(attribute, length);
       attribute = RTA_NEXT(attribute, length)) {
    visit(attribute->rta_type & NLA_TYPE_MASK, *attribute);
  }
}

// libbpf names the filter "<program name>:[<program id>]" when it attaches; the program
// name is the part before the last ":[".
std::string ProgramNameOfFilter(const rtattr& attribute) {
  std::string name(static_cast<const char*>(RTA_DATA(&attribute)),
                   strnlen(static_cast<const char*>(RTA_DATA(&attribute)),
                           RTA_PAYLOAD(&attribute)));
  const size_t suffix = name.rfind(":[");
  return suffix == std::string::npos ? std::string() : name.substr(0, suffix);
}

// Reads the bpf filter's id and name from one RTM_NEWTFILTER message, if it is
// Flatwall's filter (handle and priority) and a bpf one.
void ReadFlatwallFilter(const nlmsghdr& message, TcProgram* program) {
  if (message.nlmsg_type != RTM_NEWTFILTER ||
      message.nlmsg_len < NLMSG_LENGTH(sizeof(tcmsg))) {
    return;
  }
  const auto* header = static_cast<const tcmsg*>(NLMSG_DATA(&message));
  if (header->tcm_handle != kFilterHandle ||
      TC_H_MAJ(header->tcm_info) >> 16 != kFilterPriority) {
    return;
  }
  const auto* first = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(header) +
                                                      NLMSG_ALIGN(sizeof(tcmsg)));
  const int length = static_cast<int>(message.nlmsg_len - NLMSG_LENGTH(sizeof(tcmsg)));
  bool is_bpf = false;
  TcProgram found;
  ForEachAttribute(first, length, [&](int type, const rtattr& attribute) {
    if (type == TCA_KIND) {
      is_bpf = std::strncmp(static_cast<const char*>(RTA_DATA(&attribute)), "bpf",
                            RTA_PAYLOAD(&attribute)) == 0;
    } else if (type == TCA_OPTIONS) {
      ForEachAttribute(static_cast<const rtattr*>(RTA_DATA(&attribute)),
                       static_cast<int>(RTA_PAYLOAD(&attribute)),
                       [&](int option, const rtattr& value) {
                         if (option == TCA_BPF_ID && RTA_PAYLOAD(&value) >= sizeof(uint32_t)) {
                           std::memcpy(&found.id, RTA_DATA(&value), sizeof(uint32_t));
                         } else if (option == TCA_BPF_NAME) {
                           found.name = ProgramNameOfFilter(value);
                         }
                       });
    }
  });
  if (is_bpf && found.id != 0) *program = std::move(found);
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

absl::StatusOr<TcProgram> AttachedTcProgram(int ifindex, TcHook hook) {
  tcmsg request{};
  request.tcm_family = AF_UNSPEC;
  request.tcm_ifindex = ifindex;
  request.tcm_parent = TC_H_MAKE(TC_H_CLSACT, hook == TcHook::kIngress ? TC_H_MIN_INGRESS
                                                                        : TC_H_MIN_EGRESS);
  TcProgram program;
  FW_RETURN_IF_ERROR(NetlinkDump(RTM_GETTFILTER, &request, sizeof(request),
                                 Where("query", hook, ifindex),
                                 [&](const nlmsghdr& message) {
                                   ReadFlatwallFilter(message, &program);
                                   return absl::OkStatus();
                                 }));
  return program;
}

}  // namespace flatwall::agent
