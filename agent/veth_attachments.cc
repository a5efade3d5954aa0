#include "agent/veth_attachments.h"

#include <bpf/bpf.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/bpf_error.h"
#include "agent/netlink_dump.h"
#include "agent/tc_attacher.h"
#include "agent/veth_binding.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
namespace {

// The kernel names of the programs (their pin names without the version suffix). A
// filter running one of these is Flatwall's, whatever object it was loaded from: an
// earlier agent's programs (replaced in their pins by an upgrade) have other ids but the
// same names, which the tc filter dump carries.
constexpr char kFromPodName[] = "fw_from_pod";
constexpr char kToPodName[] = "fw_to_pod";
constexpr char kUplinkName[] = "fw_uplink";

constexpr TcHook kBothHooks[] = {TcHook::kIngress, TcHook::kEgress};

bool IsPodProgram(const std::string& name) { return name == kFromPodName || name == kToPodName; }
bool IsFlatwallProgram(const std::string& name) {
  return IsPodProgram(name) || name == kUplinkName;
}

absl::StatusOr<uint32_t> ProgramIdOf(int fd, fw_hook hook) {
  bpf_prog_info info{};
  uint32_t length = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0) {
    return BpfError(errno, absl::StrCat("read info of program ", ProgramPinName(hook)));
  }
  return info.id;
}

// The name of the program in Flatwall's filter slot of the hook; empty when there is
// none (or the interface is gone). From the tc filter dump, not by opening the program by
// its id: that would need CAP_SYS_ADMIN, and the agent runs without it.
absl::StatusOr<std::string> HookProgramName(int ifindex, TcHook hook) {
  absl::StatusOr<TcProgram> program = AttachedTcProgram(ifindex, hook);
  if (absl::IsNotFound(program.status())) return std::string();
  FW_RETURN_IF_ERROR(program.status());
  return std::move(program->name);
}

// The interfaces of the namespace that have a clsact qdisc: only they can hold a tc
// filter, and asking the others would make the kernel (and libbpf's log) complain.
absl::StatusOr<std::vector<int>> InterfacesWithClsact() {
  tcmsg request{};
  request.tcm_family = AF_UNSPEC;
  std::set<int> ifindexes;
  FW_RETURN_IF_ERROR(NetlinkDump(
      RTM_GETQDISC, &request, sizeof(request), "dump qdiscs",
      [&](const nlmsghdr& message) -> absl::Status {
        if (message.nlmsg_type != RTM_NEWQDISC ||
            message.nlmsg_len < NLMSG_LENGTH(sizeof(tcmsg))) {
          return absl::OkStatus();
        }
        const auto* header = static_cast<const tcmsg*>(NLMSG_DATA(&message));
        int length = static_cast<int>(message.nlmsg_len - NLMSG_LENGTH(sizeof(tcmsg)));
        for (const rtattr* attribute = reinterpret_cast<const rtattr*>(
                 reinterpret_cast<const char*>(header) + NLMSG_ALIGN(sizeof(tcmsg)));
             RTA_OK(attribute, length); attribute = RTA_NEXT(attribute, length)) {
          if (attribute->rta_type == TCA_KIND &&
              std::strncmp(static_cast<const char*>(RTA_DATA(attribute)), "clsact",
                           RTA_PAYLOAD(attribute)) == 0) {
            ifindexes.insert(header->tcm_ifindex);
          }
        }
        return absl::OkStatus();
      }));
  return std::vector<int>(ifindexes.begin(), ifindexes.end());
}

// Calls `visit(ifindex, hook, program name)` for every hook of every interface that runs
// a Flatwall program. Interfaces that vanish meanwhile have no filters left to visit.
absl::Status ForEachFlatwallFilter(
    const std::function<absl::Status(int, TcHook, const std::string&)>& visit) {
  FW_ASSIGN_OR_RETURN(const std::vector<int> ifindexes, InterfacesWithClsact());
  for (const int ifindex : ifindexes) {
    for (const TcHook hook : kBothHooks) {
      FW_ASSIGN_OR_RETURN(const std::string name, HookProgramName(ifindex, hook));
      if (IsFlatwallProgram(name)) FW_RETURN_IF_ERROR(visit(ifindex, hook, name));
    }
  }
  return absl::OkStatus();
}

// Detaching from an interface that is gone is done: its filters went with it.
absl::Status DetachIfPresent(int ifindex, TcHook hook) {
  absl::Status status = DetachTc(ifindex, hook);
  return absl::IsNotFound(status) ? absl::OkStatus() : status;
}

std::vector<compiler::IpAddress> SortedUnique(std::vector<compiler::IpAddress> addresses) {
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  return addresses;
}

// Where a pod's routed addresses lead: 0 when none has a route; FailedPrecondition when
// they lead to different interfaces.
absl::StatusOr<int> VethOfPod(const std::string& key,
                              const std::vector<compiler::IpAddress>& addresses,
                              const HostRoutes& routes) {
  int veth = 0;
  std::vector<std::string> seen;
  for (const compiler::IpAddress& address : addresses) {
    auto it = routes.find(address);
    if (it == routes.end()) continue;
    seen.push_back(absl::StrCat(address.ToString(), " via ifindex ", it->second));
    if (veth != 0 && veth != it->second) {
      return absl::FailedPreconditionError(
          absl::StrCat("pod ", key, ": its addresses route to different interfaces (",
                       absl::StrJoin(seen, ", "), ")"));
    }
    veth = it->second;
  }
  return veth;
}

}  // namespace

absl::StatusOr<VethAttachments::ProgramIds> VethAttachments::OurProgramIds() const {
  ProgramIds ids;
  FW_ASSIGN_OR_RETURN(ids.from_pod, ProgramIdOf(datapath_.program_fd(FW_HOOK_FROM_POD),
                                                FW_HOOK_FROM_POD));
  FW_ASSIGN_OR_RETURN(ids.to_pod,
                      ProgramIdOf(datapath_.program_fd(FW_HOOK_TO_POD), FW_HOOK_TO_POD));
  return ids;
}

bool VethAttachments::StillAttached(const Attachment& attachment,
                                    const ProgramIds& ours) const {
  absl::StatusOr<uint32_t> ingress = AttachedTcProgramId(attachment.ifindex, TcHook::kIngress);
  absl::StatusOr<uint32_t> egress = AttachedTcProgramId(attachment.ifindex, TcHook::kEgress);
  absl::StatusOr<std::vector<compiler::IpAddress>> bound =
      VethAddresses(datapath_, attachment.ifindex);
  return ingress.ok() && *ingress == ours.from_pod && egress.ok() && *egress == ours.to_pod &&
         bound.ok() && SortedUnique(*bound) == attachment.addresses;
}

absl::Status VethAttachments::Attach(const Attachment& attachment) const {
  // The binding first: the from-pod program drops everything from an unbound veth.
  FW_RETURN_IF_ERROR(BindVeth(datapath_, attachment.ifindex, attachment.addresses));
  FW_RETURN_IF_ERROR(AttachTc(attachment.ifindex, TcHook::kIngress,
                              datapath_.program_fd(FW_HOOK_FROM_POD)));
  return AttachTc(attachment.ifindex, TcHook::kEgress, datapath_.program_fd(FW_HOOK_TO_POD));
}

absl::Status VethAttachments::Clean(int ifindex) const {
  for (const TcHook hook : kBothHooks) {
    // Empty when the veth is gone, and its filters with it.
    FW_ASSIGN_OR_RETURN(const std::string name, HookProgramName(ifindex, hook));
    // Someone else's filter in the same slot is not ours to remove.
    if (IsPodProgram(name)) FW_RETURN_IF_ERROR(DetachIfPresent(ifindex, hook));
  }
  // Unbound only once nothing runs the from-pod program there any more.
  return UnbindVeth(datapath_, ifindex);
}

absl::StatusOr<AttachReport> VethAttachments::Reconcile(const std::vector<LocalPod>& pods,
                                                        const HostRoutes& routes) {
  FW_ASSIGN_OR_RETURN(const ProgramIds ours, OurProgramIds());
  // Adoption: what an earlier run left, to be cleaned unless a pod of this pass uses it.
  std::set<int> leftovers;
  if (!adopted_) {
    FW_ASSIGN_OR_RETURN(const auto bound, BoundVeths(datapath_));
    for (const auto& [ifindex, addresses] : bound) leftovers.insert(ifindex);
    FW_RETURN_IF_ERROR(
        ForEachFlatwallFilter([&](int ifindex, TcHook, const std::string& name) {
          if (IsPodProgram(name)) leftovers.insert(ifindex);
          return absl::OkStatus();
        }));
  }

  AttachReport report;
  std::set<int> in_use;       // veths of listed pods: never cleaned in this pass
  std::set<int> old_veths;    // veths listed pods left: cleaned unless in use
  std::set<std::string> listed;
  for (const LocalPod& pod : pods) {
    listed.insert(pod.key);
    auto previous = attachments_.find(pod.key);
    Attachment wanted{0, SortedUnique(pod.addresses)};
    absl::StatusOr<int> veth = VethOfPod(pod.key, wanted.addresses, routes);
    if (!veth.ok()) {
      // Left as it was until its routes agree.
      if (previous != attachments_.end()) in_use.insert(previous->second.ifindex);
      report.failed.push_back({pod.key, veth.status()});
      continue;
    }
    if (*veth == 0) {
      if (previous != attachments_.end()) {
        old_veths.insert(previous->second.ifindex);
        attachments_.erase(previous);
      }
      report.waiting.push_back(pod.key);
      continue;
    }
    wanted.ifindex = *veth;
    in_use.insert(wanted.ifindex);
    if (previous != attachments_.end() && previous->second.ifindex == wanted.ifindex &&
        previous->second.addresses == wanted.addresses && StillAttached(wanted, ours)) {
      continue;
    }
    if (absl::Status status = Attach(wanted); !status.ok()) {
      // Retried next pass; the old veth (if any) is kept until the new one is attached.
      if (previous != attachments_.end()) in_use.insert(previous->second.ifindex);
      report.failed.push_back({pod.key, status});
      continue;
    }
    if (previous != attachments_.end() && previous->second.ifindex != wanted.ifindex) {
      old_veths.insert(previous->second.ifindex);
    }
    attachments_[pod.key] = std::move(wanted);
    report.attached.push_back(pod.key);
  }

  for (auto it = attachments_.begin(); it != attachments_.end();) {
    if (listed.contains(it->first)) {
      ++it;
      continue;
    }
    // A veth another pod now uses (an ifindex reused) keeps its programs and binding.
    if (!in_use.contains(it->second.ifindex)) {
      if (absl::Status status = Clean(it->second.ifindex); !status.ok()) {
        report.failed.push_back({it->first, status});
        ++it;
        continue;
      }
    }
    report.detached.push_back(it->first);
    it = attachments_.erase(it);
  }

  old_veths.insert(leftovers.begin(), leftovers.end());
  for (const int ifindex : old_veths) {
    if (in_use.contains(ifindex)) continue;
    if (absl::Status status = Clean(ifindex); !status.ok()) {
      report.clean_failed.emplace(ifindex, status);
      continue;
    }
    report.cleaned.push_back(ifindex);
  }
  adopted_ = true;
  return report;
}

absl::Status VethAttachments::AttachUplink(int ifindex) {
  FW_RETURN_IF_ERROR(
      AttachTc(ifindex, TcHook::kEgress, datapath_.program_fd(FW_HOOK_UPLINK)));
  return ForEachFlatwallFilter([&](int other, TcHook hook, const std::string& name) {
    if (name != kUplinkName || other == ifindex) return absl::OkStatus();
    return DetachIfPresent(other, hook);
  });
}

absl::Status DetachEveryFlatwallFilter() {
  absl::Status first_error;
  auto note = [&](absl::Status status) {
    if (first_error.ok()) first_error = std::move(status);
  };
  note(ForEachFlatwallFilter([&](int ifindex, TcHook hook, const std::string&) {
    note(DetachIfPresent(ifindex, hook));
    return absl::OkStatus();
  }));
  return first_error;
}

absl::Status VethAttachments::DetachAll() {
  absl::Status first_error = DetachEveryFlatwallFilter();
  auto note = [&](absl::Status status) {
    if (first_error.ok()) first_error = std::move(status);
  };
  absl::StatusOr<std::map<int, std::vector<compiler::IpAddress>>> bound = BoundVeths(datapath_);
  note(bound.status());
  if (bound.ok()) {
    for (const auto& [ifindex, addresses] : *bound) note(UnbindVeth(datapath_, ifindex));
  }
  attachments_.clear();
  return first_error;
}

std::map<std::string, int> VethAttachments::AttachedVeths() const {
  std::map<std::string, int> veths;
  for (const auto& [key, attachment] : attachments_) veths[key] = attachment.ifindex;
  return veths;
}

}  // namespace flatwall::agent
