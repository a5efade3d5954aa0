// Veth attachments on real interfaces: a node namespace with pod veths whose other ends
// live in a pod namespace (as the lab builds them), the real datapath loaded, and the
// programs and bindings checked in the kernel after each Reconcile.
#include "agent/veth_attachments.h"

#include <bpf/bpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "agent/host_routes.h"
#include "agent/lab/netns.h"
#include "agent/tc_attacher.h"
#include "agent/veth_binding.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy-compiler/status_macros.h"
#include "tests/agent/kernel_test_fixture.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Clears CAP_SYS_ADMIN from the calling thread's effective set, and checks that opening
// program `id` by its id (which needs it) is now refused.
absl::Status DropSysAdminFromThisThread(uint32_t id) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return absl::InternalError("capget failed");
  data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
  if (syscall(SYS_capset, &header, data) != 0) return absl::InternalError("capset failed");
  if (const int fd = bpf_prog_get_fd_by_id(id); fd >= 0) {
    close(fd);
    return absl::InternalError("CAP_SYS_ADMIN is still effective");
  }
  return absl::OkStatus();
}

class VethAttachmentsTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (IsSkipped()) return;
    LoadDatapath();
    node_ = MakeNetns("node");
    pod_ = MakeNetns("pod");
    // d0 and d1 stand for uplinks: veth pairs, as the kernel may lack the dummy module.
    std::vector<std::string> lines = {"link set lo up", "link add d0 type veth peer name d0p",
                                      "link add d1 type veth peer name d1p", "link set d0 up",
                                      "link set d1 up"};
    for (const char* veth : {"vh1", "vh2", "vh3"}) AddVeth(veth, &lines);
    lines.insert(lines.end(), {"route add 10.30.0.1/32 dev vh1", "route add 10.30.0.2/32 dev vh2",
                               "route add fd00:30::2/128 dev vh2"});
    FW_ASSERT_OK(lab::RunIpBatch(node_, lines));
  }

  // A pod veth: host side `host` here, the pod side (p + its number) in the pod namespace.
  void AddVeth(const std::string& host, std::vector<std::string>* lines) {
    lines->push_back(
        absl::StrCat("link add ", host, " type veth peer name p", host.substr(2), " netns ", pod_));
    lines->push_back(absl::StrCat("link set ", host, " up"));
  }

  // Reads the node's routes and reconciles, as the agent does, inside the node namespace.
  AttachReport Reconcile(VethAttachments& attachments, const std::vector<LocalPod>& pods) {
    AttachReport report;
    EXPECT_THAT(lab::RunInNetns(node_,
                                [&]() -> absl::Status {
                                  FW_ASSIGN_OR_RETURN(HostRoutes routes, HostRouteInterfaces());
                                  FW_ASSIGN_OR_RETURN(report,
                                                      attachments.Reconcile(pods, routes));
                                  return absl::OkStatus();
                                }),
                ::flatwall::testing::IsOk());
    return report;
  }

  // As Reconcile, on a thread without CAP_SYS_ADMIN in its effective set (capabilities
  // are per thread, and the thread ends with the pass): as the DaemonSet runs the agent.
  AttachReport ReconcileWithoutSysAdmin(VethAttachments& attachments,
                                        const std::vector<LocalPod>& pods) {
    AttachReport report;
    EXPECT_THAT(lab::RunInNetns(node_,
                                [&]() -> absl::Status {
                                  FW_RETURN_IF_ERROR(DropSysAdminFromThisThread(
                                      Ours(FW_HOOK_FROM_POD)));
                                  FW_ASSIGN_OR_RETURN(HostRoutes routes, HostRouteInterfaces());
                                  FW_ASSIGN_OR_RETURN(report,
                                                      attachments.Reconcile(pods, routes));
                                  return absl::OkStatus();
                                }),
                ::flatwall::testing::IsOk());
    return report;
  }

  // The id of the program Flatwall's filter runs on the hook of a node interface.
  uint32_t Attached(int ifindex, TcHook hook) {
    uint32_t id = 0;
    EXPECT_THAT(lab::RunInNetns(node_,
                                [&]() -> absl::Status {
                                  FW_ASSIGN_OR_RETURN(id, AttachedTcProgramId(ifindex, hook));
                                  return absl::OkStatus();
                                }),
                ::flatwall::testing::IsOk());
    return id;
  }

  uint32_t Ours(fw_hook hook) {
    bpf_prog_info info{};
    uint32_t length = sizeof(info);
    EXPECT_EQ(bpf_obj_get_info_by_fd(datapath_->program_fd(hook), &info, &length), 0);
    return info.id;
  }

  std::vector<compiler::IpAddress> Bound(int ifindex) {
    absl::StatusOr<std::vector<compiler::IpAddress>> addresses =
        VethAddresses(*datapath_, ifindex);
    EXPECT_THAT(addresses, ::flatwall::testing::IsOk());
    return addresses.ok() ? *addresses : std::vector<compiler::IpAddress>{};
  }

  // Both pod programs of this datapath on the veth, and exactly `addresses` bound.
  void ExpectAttached(int ifindex, const std::vector<compiler::IpAddress>& addresses) {
    EXPECT_EQ(Attached(ifindex, TcHook::kIngress), Ours(FW_HOOK_FROM_POD));
    EXPECT_EQ(Attached(ifindex, TcHook::kEgress), Ours(FW_HOOK_TO_POD));
    EXPECT_EQ(Bound(ifindex), addresses);
  }

  void ExpectClean(int ifindex) {
    EXPECT_EQ(Attached(ifindex, TcHook::kIngress), 0u);
    EXPECT_EQ(Attached(ifindex, TcHook::kEgress), 0u);
    EXPECT_THAT(Bound(ifindex), IsEmpty());
  }

  LocalPod PodA() { return {"x/a", {Ip("10.30.0.1")}}; }
  LocalPod PodB() { return {"x/b", {Ip("fd00:30::2"), Ip("10.30.0.2")}}; }
  LocalPod PodC() { return {"x/c", {Ip("10.30.0.3")}}; }  // its route comes later

  std::string node_;
  std::string pod_;
};

TEST_F(VethAttachmentsTest, ListedPodsAreBoundAndAttachedOnBothHooks) {
  VethAttachments attachments(*datapath_);
  AttachReport report = Reconcile(attachments, {PodA(), PodB()});
  EXPECT_THAT(report.attached, ElementsAre("x/a", "x/b"));
  EXPECT_THAT(report.failed, IsEmpty());
  ExpectAttached(Ifindex(node_, "vh1"), {Ip("10.30.0.1")});
  // Bound sorted by the 16-byte form: the IPv4-mapped address first.
  ExpectAttached(Ifindex(node_, "vh2"), {Ip("10.30.0.2"), Ip("fd00:30::2")});
  EXPECT_EQ(attachments.AttachedVeths(),
            (std::map<std::string, int>{{"x/a", Ifindex(node_, "vh1")},
                                        {"x/b", Ifindex(node_, "vh2")}}));
}

TEST_F(VethAttachmentsTest, UnchangedPodsAreLeftAloneAndRepairedWhenDetachedBehindOurBack) {
  VethAttachments attachments(*datapath_);
  Reconcile(attachments, {PodA(), PodB()});
  AttachReport again = Reconcile(attachments, {PodA(), PodB()});
  EXPECT_THAT(again.attached, IsEmpty());

  const int vh1 = Ifindex(node_, "vh1");
  FW_ASSERT_OK(lab::RunInNetns(node_, [&] { return DetachTc(vh1, TcHook::kEgress); }));
  AttachReport repaired = Reconcile(attachments, {PodA(), PodB()});
  EXPECT_THAT(repaired.attached, ElementsAre("x/a"));
  ExpectAttached(vh1, {Ip("10.30.0.1")});
}

TEST_F(VethAttachmentsTest, PodWithoutRouteWaitsUntilTheRouteAppears) {
  VethAttachments attachments(*datapath_);
  AttachReport before = Reconcile(attachments, {PodA(), PodC()});
  EXPECT_THAT(before.attached, ElementsAre("x/a"));
  EXPECT_THAT(before.waiting, ElementsAre("x/c"));
  const int vh3 = Ifindex(node_, "vh3");
  ExpectClean(vh3);

  FW_ASSERT_OK(lab::RunIpBatch(node_, {"route add 10.30.0.3/32 dev vh3"}));
  AttachReport after = Reconcile(attachments, {PodA(), PodC()});
  EXPECT_THAT(after.attached, ElementsAre("x/c"));
  EXPECT_THAT(after.waiting, IsEmpty());
  ExpectAttached(vh3, {Ip("10.30.0.3")});
}

TEST_F(VethAttachmentsTest, AttachedPodWhoseRouteGoesWaitsAndItsVethIsCleaned) {
  VethAttachments attachments(*datapath_);
  Reconcile(attachments, {PodA()});
  const int vh1 = Ifindex(node_, "vh1");
  FW_ASSERT_OK(lab::RunIpBatch(node_, {"route del 10.30.0.1/32 dev vh1"}));
  AttachReport report = Reconcile(attachments, {PodA()});
  EXPECT_THAT(report.waiting, ElementsAre("x/a"));
  EXPECT_THAT(report.cleaned, ElementsAre(vh1));
  ExpectClean(vh1);
  EXPECT_THAT(attachments.AttachedVeths(), IsEmpty());
}

TEST_F(VethAttachmentsTest, RemovedPodIsDetachedThenUnbound) {
  VethAttachments attachments(*datapath_);
  Reconcile(attachments, {PodA(), PodB()});
  AttachReport report = Reconcile(attachments, {PodB()});
  EXPECT_THAT(report.detached, ElementsAre("x/a"));
  EXPECT_THAT(report.attached, IsEmpty());
  ExpectClean(Ifindex(node_, "vh1"));
  ExpectAttached(Ifindex(node_, "vh2"), {Ip("10.30.0.2"), Ip("fd00:30::2")});
}

TEST_F(VethAttachmentsTest, RecreatedVethIsAttachedAndTheOldOneCleaned) {
  VethAttachments attachments(*datapath_);
  Reconcile(attachments, {PodA()});
  const int old_vh1 = Ifindex(node_, "vh1");
  // The CNI recreates the pod's sandbox: a new veth (new ifindex), the same pod IP.
  std::vector<std::string> lines = {"link del vh1"};
  AddVeth("vh1", &lines);
  lines.push_back("route add 10.30.0.1/32 dev vh1");
  FW_ASSERT_OK(lab::RunIpBatch(node_, lines));
  const int new_vh1 = Ifindex(node_, "vh1");
  ASSERT_NE(new_vh1, old_vh1);

  AttachReport report = Reconcile(attachments, {PodA()});
  EXPECT_THAT(report.attached, ElementsAre("x/a"));
  EXPECT_THAT(report.cleaned, ElementsAre(old_vh1));
  ExpectAttached(new_vh1, {Ip("10.30.0.1")});
  EXPECT_THAT(Bound(old_vh1), IsEmpty());
}

TEST_F(VethAttachmentsTest, PodWhoseAddressesRouteToDifferentVethsFailsAndIsSkipped) {
  FW_ASSERT_OK(lab::RunIpBatch(node_, {"route add fd00:30::1/128 dev vh2"}));
  VethAttachments attachments(*datapath_);
  AttachReport report = Reconcile(attachments, {{"x/a", {Ip("10.30.0.1"), Ip("fd00:30::1")}}});
  ASSERT_EQ(report.failed.size(), 1u);
  EXPECT_EQ(report.failed[0].pod, "x/a");
  EXPECT_EQ(report.failed[0].status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(report.attached, IsEmpty());
  ExpectClean(Ifindex(node_, "vh1"));
  ExpectClean(Ifindex(node_, "vh2"));
}

TEST_F(VethAttachmentsTest, RestartAdoptsListedVethsAndCleansStaleOnes) {
  const int vh1 = Ifindex(node_, "vh1");
  const int vh2 = Ifindex(node_, "vh2");
  {
    VethAttachments earlier_run(*datapath_);
    Reconcile(earlier_run, {PodA(), PodB()});
  }
  // Bindings with no veth behind them, as a crash between bind and attach leaves them:
  // one in the array, one past it in fw_veth_big_v1.
  FW_ASSERT_OK(BindVeth(*datapath_, 4000, {Ip("10.30.0.9")}));
  FW_ASSERT_OK(BindVeth(*datapath_, FW_VETH_ARRAY_SLOTS + 7, {Ip("10.30.0.10")}));
  // The restarted agent loads new programs over the same pins.
  datapath_.reset();
  LoadDatapath();
  ASSERT_NE(Ours(FW_HOOK_FROM_POD), 0u);

  VethAttachments restarted(*datapath_);
  AttachReport report = Reconcile(restarted, {PodA()});
  EXPECT_THAT(report.attached, ElementsAre("x/a"));
  EXPECT_THAT(report.cleaned, ElementsAre(vh2, 4000, FW_VETH_ARRAY_SLOTS + 7));
  EXPECT_THAT(report.failed, IsEmpty());
  ExpectAttached(vh1, {Ip("10.30.0.1")});  // replaced in place by the new programs
  ExpectClean(vh2);
  EXPECT_THAT(Bound(4000), IsEmpty());
  EXPECT_THAT(Bound(FW_VETH_ARRAY_SLOTS + 7), IsEmpty());
}

// An upgrade replaces the pinned programs: the filters left by the earlier agent run
// programs with other ids, recognised by the names the tc filter dump gives, with no
// CAP_SYS_ADMIN to open them by id. A filter of someone else's program stays.
TEST_F(VethAttachmentsTest, RestartWithoutSysAdminRecognisesAnEarlierRunsProgramsByName) {
  const int vh1 = Ifindex(node_, "vh1");
  const int vh2 = Ifindex(node_, "vh2");
  const int vh3 = Ifindex(node_, "vh3");
  {
    VethAttachments earlier_run(*datapath_);
    Reconcile(earlier_run, {PodA(), PodB()});
  }
  const uint32_t earlier_from_pod = Ours(FW_HOOK_FROM_POD);
  // Someone else's program in Flatwall's slot of vh3 (the uplink program stands in: its
  // name is not a pod program's).
  FW_ASSERT_OK(lab::RunInNetns(node_, [&] {
    return AttachTc(vh3, TcHook::kIngress, datapath_->program_fd(FW_HOOK_UPLINK));
  }));
  datapath_.reset();
  LoadDatapath();
  ASSERT_NE(Ours(FW_HOOK_FROM_POD), earlier_from_pod);
  TcProgram earlier;
  FW_ASSERT_OK(lab::RunInNetns(node_, [&]() -> absl::Status {
    FW_ASSIGN_OR_RETURN(earlier, AttachedTcProgram(vh2, TcHook::kIngress));
    return absl::OkStatus();
  }));
  EXPECT_EQ(earlier.id, earlier_from_pod);
  EXPECT_EQ(earlier.name, "fw_from_pod");

  VethAttachments restarted(*datapath_);
  AttachReport report = ReconcileWithoutSysAdmin(restarted, {PodA()});
  EXPECT_THAT(report.attached, ElementsAre("x/a"));
  EXPECT_THAT(report.cleaned, ElementsAre(vh2));
  EXPECT_THAT(report.failed, IsEmpty());
  ExpectAttached(vh1, {Ip("10.30.0.1")});
  ExpectClean(vh2);
  EXPECT_NE(Attached(vh3, TcHook::kIngress), 0u);
}

TEST_F(VethAttachmentsTest, UplinkMovesToTheNewInterface) {
  const int d0 = Ifindex(node_, "d0");
  const int d1 = Ifindex(node_, "d1");
  VethAttachments attachments(*datapath_);
  FW_ASSERT_OK(lab::RunInNetns(node_, [&] { return attachments.AttachUplink(d0); }));
  EXPECT_EQ(Attached(d0, TcHook::kEgress), Ours(FW_HOOK_UPLINK));
  EXPECT_EQ(Attached(d0, TcHook::kIngress), 0u);

  FW_ASSERT_OK(lab::RunInNetns(node_, [&] { return attachments.AttachUplink(d1); }));
  EXPECT_EQ(Attached(d1, TcHook::kEgress), Ours(FW_HOOK_UPLINK));
  EXPECT_EQ(Attached(d0, TcHook::kEgress), 0u);
}

TEST_F(VethAttachmentsTest, DetachAllRemovesEveryFilterAndBinding) {
  VethAttachments attachments(*datapath_);
  Reconcile(attachments, {PodA(), PodB()});
  const int d0 = Ifindex(node_, "d0");
  FW_ASSERT_OK(lab::RunInNetns(node_, [&] { return attachments.AttachUplink(d0); }));

  FW_ASSERT_OK(lab::RunInNetns(node_, [&] { return attachments.DetachAll(); }));
  ExpectClean(Ifindex(node_, "vh1"));
  ExpectClean(Ifindex(node_, "vh2"));
  EXPECT_EQ(Attached(d0, TcHook::kEgress), 0u);
  absl::StatusOr<std::map<int, std::vector<compiler::IpAddress>>> bound = BoundVeths(*datapath_);
  FW_ASSERT_OK(bound);
  EXPECT_THAT(*bound, IsEmpty());
  EXPECT_THAT(attachments.AttachedVeths(), IsEmpty());
}

}  // namespace
}  // namespace flatwall::agent::testing
