// The local pods' host-side veths with Flatwall's programs attached, kept equal to the
// list of local pods: bind each pod's addresses to its veth and attach both programs,
// move them when the veth is recreated, detach and unbind when the pod goes, and on the
// first pass after an agent restart adopt what an earlier run left (keeping the veths
// of listed pods enforced without a gap, cleaning the others). Also the node uplink's
// program, and removing everything for an uninstall.
//
// Everything happens in the calling thread's network namespace (tc and interface names
// are per namespace); one agent owns a namespace: filters of Flatwall's programs found
// there are taken as this agent's.
//
// Not here: finding veths (host_routes.h), the tc and map primitives (tc_attacher.h,
// veth_binding.h), which pods are local (the reconcile loop).
#ifndef FLATWALL_AGENT_VETH_ATTACHMENTS_H_
#define FLATWALL_AGENT_VETH_ATTACHMENTS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath.h"
#include "agent/host_routes.h"
#include "policy-compiler/ip_prefix.h"

namespace flatwall::agent {

// A pod on this node: its key ("namespace/name") and every address it may send from.
struct LocalPod {
  std::string key;
  std::vector<compiler::IpAddress> addresses;
};

struct PodFailure {
  std::string pod;  // the pod key
  absl::Status status;
};

// What one Reconcile pass did. Pod keys are in the order the pods were listed (detached
// ones in key order).
struct AttachReport {
  std::vector<std::string> attached;  // bound and attached this pass: new, moved, repaired
  std::vector<std::string> detached;  // no longer listed: programs detached, binding removed
  std::vector<std::string> waiting;   // no host route to any of its addresses yet
  std::vector<PodFailure> failed;     // routes disagree, or the kernel refused
  std::vector<int> cleaned;           // veths no pod owns any more (a moved pod's old veth,
                                      // an earlier run's leftover), detached and unbound
  // Such veths whose cleaning failed (retried next pass): they leave no pod unenforced.
  std::map<int, absl::Status> clean_failed;
};

// Removes every Flatwall filter (pod and uplink programs, found by program name) from
// every interface of the namespace; needs no datapath, so it also serves an uninstall
// whose pins are already gone. Goes on past errors and returns the first one.
absl::Status DetachEveryFlatwallFilter();

class VethAttachments {
 public:
  // `datapath` must outlive this object.
  explicit VethAttachments(const Datapath& datapath) : datapath_(datapath) {}

  // Makes the attachments match `pods`. A pod's veth is the interface of the host routes
  // of its addresses: those with a route must agree (if not, the pod is reported failed
  // and left as it was); addresses without one do not block (a CNI may route one family
  // only), and all addresses are bound. Per pod, in this order: BindVeth, then attach
  // FW_HOOK_FROM_POD on tc ingress and FW_HOOK_TO_POD on tc egress (a bound veth first,
  // or every packet from the pod would drop as spoofed). A pod already attached to the
  // same veth with the same addresses, whose hooks still run this datapath's programs, is
  // left alone. A pod with no route (or no address) is "waiting": call again later; if
  // it was attached before, its old veth is cleaned. A pod whose veth changed gets the new
  // one attached before the old one is cleaned. Pods no longer listed: both hooks
  // detached, then the binding removed. A veth is never cleaned while a listed pod uses it.
  //
  // The first pass adopts: veths carrying Flatwall's pod programs (any interface of the
  // namespace) or bound in fw_veth_v1/fw_veth_big_v1 that no pod of this pass uses are
  // cleaned; the listed pods' veths are re-bound and their programs replaced in place,
  // with no moment unfiltered. So the first pass must list every local pod.
  //
  // Per-pod problems go to the report's `failed` and are retried by the next pass; the
  // Status is an error only when the pass could not run at all (reading this datapath's
  // program ids, the bindings or the interfaces failed), and then nothing was changed.
  absl::StatusOr<AttachReport> Reconcile(const std::vector<LocalPod>& pods,
                                         const HostRoutes& routes);

  // Attaches FW_HOOK_UPLINK to tc egress of `ifindex` (replacing in place), then removes
  // the uplink program from every other interface (an uplink that changed across a
  // restart). Errors: NotFound when the interface does not exist; others from netlink.
  absl::Status AttachUplink(int ifindex);

  // Removes every Flatwall filter (pod and uplink programs) from every interface of the
  // namespace and every veth binding, for an uninstall. Goes on past errors and returns
  // the first one.
  absl::Status DetachAll();

  // Pod key -> the ifindex of the veth it is attached to.
  std::map<std::string, int> AttachedVeths() const;

 private:
  struct Attachment {
    int ifindex = 0;
    std::vector<compiler::IpAddress> addresses;  // sorted
  };
  struct ProgramIds {
    uint32_t from_pod = 0;
    uint32_t to_pod = 0;
  };

  absl::StatusOr<ProgramIds> OurProgramIds() const;
  bool StillAttached(const Attachment& attachment, const ProgramIds& ours) const;
  absl::Status Attach(const Attachment& attachment) const;
  // Detaches Flatwall's pod programs from the veth (nothing to do when it is gone), then
  // unbinds it.
  absl::Status Clean(int ifindex) const;

  const Datapath& datapath_;
  std::map<std::string, Attachment> attachments_;
  bool adopted_ = false;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_VETH_ATTACHMENTS_H_
