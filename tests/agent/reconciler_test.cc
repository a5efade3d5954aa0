// The reconcile loop against the real datapath: a pin root of the test's own, a node
// namespace of its own (the reconciler reads the calling thread's routes and addresses),
// and the pinned maps read back after every step and compared with what the compiler
// makes of the cluster state plus the node's own addresses.
#include "agent/daemon/reconciler.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "agent/lab/netns.h"
#include "agent/pinned_tables.h"
#include "agent/tc_attacher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy-compiler/compiler.h"
#include "policy-compiler/status_macros.h"
#include "tests/agent/kernel_test_fixture.h"
#include "tests/testing/image_compare.h"
#include "tests/testing/model_builders.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using ::flatwall::testing::Delete;
using ::flatwall::testing::IsOk;
using ::flatwall::testing::MakeNamespace;
using ::flatwall::testing::NamespacePeer;
using ::flatwall::testing::PodBuilder;
using ::flatwall::testing::PolicyBuilder;
using ::flatwall::testing::Port;
using ::flatwall::testing::Rule;
using ::flatwall::testing::SameTables;
using ::flatwall::testing::Selector;
using ::flatwall::testing::StatusIs;
using ::flatwall::testing::Upsert;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using compiler::ClusterEvent;
using compiler::ClusterState;

constexpr char kNode[] = "node-1";

fw_endpoint_key EndpointKey(const std::string& ip) {
  fw_endpoint_key key{};
  std::memcpy(key.addr.bytes, compiler::IpAddress::Parse(ip)->bytes().data(), sizeof(key.addr));
  return key;
}

compiler::Service MakeService(const std::string& name, const std::vector<std::string>& ips) {
  compiler::Service service;
  service.namespace_name = "x";
  service.name = name;
  for (const std::string& ip : ips) service.cluster_ips.push_back(*compiler::IpAddress::Parse(ip));
  return service;
}

// x/a and x/b on this node (x/b dual-stack), y/c on this node, y/d on another node;
// x admits only namespace y on TCP 80.
ClusterState BaseState() {
  ClusterState state;
  for (const ClusterEvent& event : {
           Upsert(MakeNamespace("x")),
           Upsert(MakeNamespace("y")),
           Upsert(PodBuilder("x", "a").Labels({{"app", "a"}}).Ips({"10.40.0.1"}).Build()),
           Upsert(PodBuilder("x", "b").Labels({{"app", "b"}}).Ips({"10.40.0.2", "fd00:40::2"})
                      .Build()),
           Upsert(PodBuilder("y", "c").Labels({{"app", "c"}}).Ips({"10.40.0.3"}).Build()),
           Upsert(PodBuilder("y", "d").Labels({{"app", "d"}}).Ips({"10.41.0.4"}).Node("node-2")
                      .Build()),
           Upsert(PolicyBuilder("x", "from-y")
                      .Ingress(Rule({NamespacePeer(Selector({{"kubernetes.io/metadata.name", "y"}}))},
                                    {Port(80)}))
                      .Build()),
       }) {
    state.Apply(event);
  }
  return state;
}

// Every entry of `enforced` is in `now` with the same value (`now` may hold more).
::testing::AssertionResult KeepsEveryEntryOf(const compiler::MapImage& enforced,
                                             const compiler::MapImage& now) {
  const compiler::MapDiff change = compiler::DiffImages(enforced, now);
  auto replaces_one = [&](const auto& upserts, const auto& old_entries) {
    return std::any_of(upserts.begin(), upserts.end(), [&](const auto& upsert) {
      return std::any_of(old_entries.begin(), old_entries.end(), [&](const auto& old_entry) {
        return compiler::AbiEqual(old_entry.key, upsert.key);
      });
    });
  };
  if (!change.endpoints.deletes.empty() || !change.ipcache.deletes.empty() ||
      !change.cidrs.deletes.empty() || !change.rules.deletes.empty()) {
    return ::testing::AssertionFailure() << "an enforced entry was deleted";
  }
  if (replaces_one(change.endpoints.upserts, enforced.endpoints) ||
      replaces_one(change.ipcache.upserts, enforced.ipcache) ||
      replaces_one(change.cidrs.upserts, enforced.cidrs) ||
      replaces_one(change.rules.upserts, enforced.rules)) {
    return ::testing::AssertionFailure() << "an enforced entry changed its value";
  }
  return ::testing::AssertionSuccess();
}

class ReconcilerTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (IsSkipped()) return;
    LoadDatapath();
    node_ = MakeNetns("rnode");
    pod_ = MakeNetns("rpod");
    // d0 is the uplink (a veth: the kernel may lack the dummy module), with the node's
    // addresses and the default route; vh1..vh3 are pod veths, their peers in pod_. lo
    // stays down, so it has no addresses and the node's addresses are exactly these.
    FW_ASSERT_OK(lab::RunIpBatch(
        node_, {"link add d0 type veth peer name d0p", "link set d0 up", "link set d0p up",
                "addr add 192.168.50.2/24 dev d0", "addr add fd00:50::2/64 dev d0 nodad",
                "route add default via 192.168.50.1 dev d0",
                absl::StrCat("link add vh1 type veth peer name p1 netns ", pod_),
                absl::StrCat("link add vh2 type veth peer name p2 netns ", pod_),
                absl::StrCat("link add vh3 type veth peer name p3 netns ", pod_),
                "link set vh1 up", "link set vh2 up", "link set vh3 up"}));
    host_addresses_ = {"192.168.50.2", "fd00:50::2"};
  }

  // Runs `work` in the node namespace, where the reconciler finds routes and addresses.
  void InNode(const std::function<absl::Status()>& work) {
    FW_EXPECT_OK(lab::RunInNetns(node_, work));
  }

  absl::StatusOr<ReconcileResult> Initialize(Reconciler& reconciler, ClusterState state) {
    absl::StatusOr<ReconcileResult> result = absl::UnknownError("not run");
    InNode([&] {
      result = reconciler.Initialize(std::move(state));
      return absl::OkStatus();
    });
    return result;
  }

  absl::StatusOr<AttachReport> SyncInterfaces(Reconciler& reconciler) {
    absl::StatusOr<AttachReport> report = absl::UnknownError("not run");
    InNode([&] {
      report = reconciler.SyncInterfaces("");
      return absl::OkStatus();
    });
    return report;
  }

  // What the maps must hold for `state`: its compiled tables plus host_addresses_ as
  // FW_IDENTITY_HOST in the IP cache.
  compiler::MapImage Expected(const ClusterState& state) const {
    compiler::MapImage image = compiler::Compile(state, {.node_name = kNode});
    compiler::MapDiff hosts;
    for (const std::string& address : host_addresses_) {
      compiler::IpcacheEntry entry{};
      std::memcpy(entry.key.addr.bytes, Ip(address).bytes().data(), sizeof(entry.key.addr));
      entry.value.identity = FW_IDENTITY_HOST;
      hosts.ipcache.upserts.push_back(entry);
    }
    return ::flatwall::testing::ApplyDiff(std::move(image), hosts);
  }

  compiler::MapImage Pinned() const {
    absl::StatusOr<compiler::MapImage> image = ReadPinnedTables(*datapath_);
    EXPECT_THAT(image, IsOk());
    return image.ok() ? *image : compiler::MapImage{};
  }

  std::vector<compiler::IpAddress> PinnedServices() const {
    absl::StatusOr<std::vector<compiler::IpAddress>> services = ReadPinnedServices(*datapath_);
    EXPECT_THAT(services, IsOk());
    return services.ok() ? *services : std::vector<compiler::IpAddress>{};
  }

  // The pinned endpoint value of `ip`; false when it has none.
  bool PinnedEndpoint(const std::string& ip, fw_endpoint_value* value) const {
    fw_endpoint_key key = EndpointKey(ip);
    return bpf_map_lookup_elem(datapath_->map_fd(DatapathMap::kEndpoints), &key, value) == 0;
  }

  uint32_t AttachedId(const std::string& device, TcHook hook) {
    const int ifindex = Ifindex(node_, device);
    uint32_t id = 0;
    InNode([&]() -> absl::Status {
      FW_ASSIGN_OR_RETURN(id, AttachedTcProgramId(ifindex, hook));
      return absl::OkStatus();
    });
    return id;
  }

  uint32_t OurProgramId(fw_hook hook) const {
    bpf_prog_info info{};
    uint32_t length = sizeof(info);
    EXPECT_EQ(bpf_obj_get_info_by_fd(datapath_->program_fd(hook), &info, &length), 0);
    return info.id;
  }

  std::string node_;
  std::string pod_;
  std::vector<std::string> host_addresses_;
};

TEST_F(ReconcilerTest, InitializeWritesTheCompiledTablesAndTheNodeAddressesAsHostEntries) {
  Reconciler reconciler(*datapath_, kNode);
  absl::StatusOr<ReconcileResult> result = Initialize(reconciler, BaseState());
  FW_ASSERT_OK(result);
  const compiler::MapImage expected = Expected(BaseState());
  EXPECT_TRUE(SameTables(Pinned(), expected));
  EXPECT_EQ(result->entries_written, compiler::DiffImages(compiler::MapImage{}, expected).size());
  EXPECT_FALSE(reconciler.needs_resync());
  EXPECT_TRUE(reconciler.initialized());
  // The node's addresses are host entries even though no pod has them; nothing local
  // is on another node.
  fw_endpoint_value value{};
  EXPECT_TRUE(PinnedEndpoint("fd00:40::2", &value));
  EXPECT_FALSE(PinnedEndpoint("10.41.0.4", &value));
}

TEST_F(ReconcilerTest, RestartOverTheSamePinsWithTheSameStateWritesNothing) {
  {
    Reconciler earlier(*datapath_, kNode);
    FW_ASSERT_OK(Initialize(earlier, BaseState()));
  }
  datapath_.reset();  // the agent exits; the pins stay
  LoadDatapath();
  Reconciler restarted(*datapath_, kNode);
  absl::StatusOr<ReconcileResult> result = Initialize(restarted, BaseState());
  FW_ASSERT_OK(result);
  EXPECT_EQ(result->entries_written, 0u);
  EXPECT_TRUE(SameTables(Pinned(), Expected(BaseState())));
}

TEST_F(ReconcilerTest, RestartWithAChangedStateWritesOnlyTheDifferenceAndKeepsSharedEntries) {
  {
    Reconciler earlier(*datapath_, kNode);
    FW_ASSERT_OK(Initialize(earlier, BaseState()));
  }
  // While the agent was away: x/b went, x/e came, and so did z/f on another node (no
  // policy admits namespace z, so x's ruleset stays as it is).
  ClusterState changed = BaseState();
  changed.Apply(Delete(PodBuilder("x", "b").Build()));
  changed.Apply(Upsert(PodBuilder("x", "e").Labels({{"app", "e"}}).Ips({"10.40.0.5"}).Build()));
  changed.Apply(Upsert(PodBuilder("z", "f").Ips({"10.41.0.6"}).Node("node-2").Build()));

  datapath_.reset();
  LoadDatapath();
  const compiler::MapImage before = Pinned();
  fw_endpoint_value shared_before{};
  ASSERT_TRUE(PinnedEndpoint("10.40.0.1", &shared_before));
  // x/a is in both states with the same value: precondition of what is checked below.
  const compiler::MapImage expected = Expected(changed);
  fw_endpoint_key shared_key = EndpointKey("10.40.0.1");
  auto in_expected = std::find_if(expected.endpoints.begin(), expected.endpoints.end(),
                                  [&](const compiler::EndpointEntry& entry) {
                                    return compiler::AbiEqual(entry.key, shared_key);
                                  });
  ASSERT_NE(in_expected, expected.endpoints.end());
  ASSERT_TRUE(compiler::AbiEqual(in_expected->value, shared_before));

  // A packet's view of x/a while the restarted agent writes: never missing, never other.
  std::atomic<bool> stop{false};
  std::atomic<int> lookups{0};
  std::atomic<int> disturbed{0};
  std::thread reader([&] {
    while (!stop) {
      fw_endpoint_value seen{};
      if (!PinnedEndpoint("10.40.0.1", &seen) || !compiler::AbiEqual(seen, shared_before)) {
        ++disturbed;
      }
      ++lookups;
    }
  });
  while (lookups == 0) std::this_thread::yield();
  Reconciler restarted(*datapath_, kNode);
  absl::StatusOr<ReconcileResult> result = Initialize(restarted, changed);
  stop = true;
  reader.join();

  FW_ASSERT_OK(result);
  const compiler::MapDiff difference = compiler::DiffImages(before, expected);
  EXPECT_GT(difference.size(), 0u);
  EXPECT_EQ(result->entries_written, difference.size());
  EXPECT_TRUE(SameTables(Pinned(), expected));
  EXPECT_EQ(disturbed, 0) << "of " << lookups << " lookups";
  fw_endpoint_value shared_after{};
  ASSERT_TRUE(PinnedEndpoint("10.40.0.1", &shared_after));
  EXPECT_TRUE(compiler::AbiEqual(shared_after, shared_before));
  fw_endpoint_value gone{};
  EXPECT_FALSE(PinnedEndpoint("10.40.0.2", &gone));
}

TEST_F(ReconcilerTest, ApplyKeepsTheMapsEqualToACompileOfTheNewState) {
  struct Step {
    const char* what;
    std::vector<ClusterEvent> events;
  };
  const std::vector<Step> steps = {
      {"local pod added", {Upsert(PodBuilder("x", "f").Labels({{"app", "a"}}).Ips({"10.40.0.6"}))}},
      {"remote pod added", {Upsert(PodBuilder("y", "g").Ips({"10.41.0.7"}).Node("node-2"))}},
      {"local pod relabelled",
       {Upsert(PodBuilder("x", "a").Labels({{"app", "z"}}).Ips({"10.40.0.1"}))}},
      {"policy added",
       {Upsert(PolicyBuilder("y", "deny-all").Types(true, true).Build())}},
      {"policy changed",
       {Upsert(PolicyBuilder("x", "from-y")
                   .Ingress(Rule({NamespacePeer(Selector({{"kubernetes.io/metadata.name", "y"}}))},
                                 {Port(443)}))
                   .Build())}},
      {"namespace relabelled", {Upsert(MakeNamespace("y", {{"team", "blue"}}))}},
      {"pods and a policy removed in one batch",
       {Delete(PodBuilder("x", "b").Build()), Delete(PodBuilder("y", "d").Build()),
        Delete(PolicyBuilder("y", "deny-all").Build())}},
  };
  Reconciler reconciler(*datapath_, kNode);
  ClusterState state = BaseState();
  FW_ASSERT_OK(Initialize(reconciler, state));
  for (const Step& step : steps) {
    SCOPED_TRACE(step.what);
    const compiler::MapImage before = Pinned();
    for (const ClusterEvent& event : step.events) state.Apply(event);
    absl::StatusOr<ReconcileResult> result = reconciler.Apply(step.events);
    FW_ASSERT_OK(result);
    EXPECT_EQ(result->events, step.events.size());
    const compiler::MapImage expected = Expected(state);
    EXPECT_TRUE(SameTables(Pinned(), expected));
    EXPECT_EQ(result->entries_written, compiler::DiffImages(before, expected).size());
    EXPECT_FALSE(reconciler.needs_resync());
  }
}

TEST_F(ReconcilerTest, ServicesMapFollowsTheClusterIpsOfServices) {
  ClusterState state = BaseState();
  state.Apply(Upsert(MakeService("web", {"10.96.0.10", "fd00:96::10"})));
  Reconciler reconciler(*datapath_, kNode);
  FW_ASSERT_OK(Initialize(reconciler, state));
  EXPECT_THAT(PinnedServices(), ElementsAre(Ip("10.96.0.10"), Ip("fd00:96::10")));

  FW_ASSERT_OK(reconciler.Apply({Upsert(MakeService("db", {"10.96.0.20"}))}));
  EXPECT_THAT(PinnedServices(),
              ElementsAre(Ip("10.96.0.10"), Ip("10.96.0.20"), Ip("fd00:96::10")));

  FW_ASSERT_OK(reconciler.Apply({Upsert(MakeService("web", {"10.96.0.11"}))}));
  EXPECT_THAT(PinnedServices(), ElementsAre(Ip("10.96.0.11"), Ip("10.96.0.20")));

  FW_ASSERT_OK(reconciler.Apply({Delete(MakeService("web", {})), Delete(MakeService("db", {}))}));
  EXPECT_THAT(PinnedServices(), IsEmpty());
}

TEST_F(ReconcilerTest, RestartRemovesServicesThatWentWhileTheAgentWasAway) {
  ClusterState state = BaseState();
  state.Apply(Upsert(MakeService("web", {"10.96.0.10"})));
  {
    Reconciler earlier(*datapath_, kNode);
    FW_ASSERT_OK(Initialize(earlier, state));
  }
  Reconciler restarted(*datapath_, kNode);
  FW_ASSERT_OK(Initialize(restarted, BaseState()));
  EXPECT_THAT(PinnedServices(), IsEmpty());
}

TEST_F(ReconcilerTest, FullMapKeepsWhatWasEnforcedAndResyncSucceedsOnceTheStateFits) {
  Reconciler reconciler(*datapath_, kNode);
  ClusterState state = BaseState();
  FW_ASSERT_OK(Initialize(reconciler, state));
  const compiler::MapImage enforced = Pinned();

  // More local pods than fw_endpoints_v2 holds, in a namespace no policy mentions, so
  // the entries already enforced keep their values in the new state.
  std::vector<ClusterEvent> flood;
  std::vector<ClusterEvent> ebb;
  for (int i = 0; i < FW_MAX_ENDPOINTS + 8; ++i) {
    compiler::Pod pod = PodBuilder("bulk", absl::StrCat("p", i))
                            .Ips({absl::StrCat("10.50.", i / 256, ".", i % 256)})
                            .Build();
    flood.push_back(Upsert(pod));
    ebb.push_back(Delete(pod));
  }
  absl::StatusOr<ReconcileResult> overflowed = reconciler.Apply(flood);
  EXPECT_THAT(overflowed, StatusIs(absl::StatusCode::kResourceExhausted,
                                   HasSubstr(MapPinName(DatapathMap::kEndpoints))));
  EXPECT_TRUE(reconciler.needs_resync());
  // Every entry that was enforced is still there with its value.
  EXPECT_TRUE(KeepsEveryEntryOf(enforced, Pinned()));

  // Still too big: the resync fails the same way and stays pending.
  EXPECT_THAT(reconciler.Resync(),
              StatusIs(absl::StatusCode::kResourceExhausted, ::testing::_));
  EXPECT_TRUE(reconciler.needs_resync());

  // The pods go again; the compiler follows without writing, and the resync catches up.
  FW_ASSERT_OK(reconciler.Apply(ebb));  // back to `state`
  EXPECT_TRUE(reconciler.needs_resync());
  FW_ASSERT_OK(reconciler.Resync());
  EXPECT_FALSE(reconciler.needs_resync());
  EXPECT_TRUE(SameTables(Pinned(), Expected(state)));
}

TEST_F(ReconcilerTest, ResyncOfAFullMapMakesRoomFromPodsThatWentBeforeAddingNewOnes) {
  Reconciler reconciler(*datapath_, kNode);
  ClusterState state = BaseState();
  FW_ASSERT_OK(Initialize(reconciler, state));
  std::vector<ClusterEvent> flood;
  std::vector<ClusterEvent> ebb_and_one_more;
  for (int i = 0; i < FW_MAX_ENDPOINTS + 8; ++i) {
    compiler::Pod pod = PodBuilder("bulk", absl::StrCat("p", i))
                            .Ips({absl::StrCat("10.50.", i / 256, ".", i % 256)})
                            .Build();
    flood.push_back(Upsert(pod));
    ebb_and_one_more.push_back(Delete(pod));
  }
  compiler::Pod newcomer = PodBuilder("bulk", "newcomer").Ips({"10.60.0.1"}).Build();
  ebb_and_one_more.push_back(Upsert(newcomer));
  EXPECT_THAT(reconciler.Apply(flood), StatusIs(absl::StatusCode::kResourceExhausted, ::testing::_));
  // The map is full of the flood's entries now; the new state needs one entry more than
  // the state before the flood, which only fits once the flood's entries are gone.
  FW_ASSERT_OK(reconciler.Apply(ebb_and_one_more));
  EXPECT_TRUE(reconciler.needs_resync());
  FW_ASSERT_OK(reconciler.Resync());
  EXPECT_FALSE(reconciler.needs_resync());
  state.Apply(Upsert(newcomer));
  EXPECT_TRUE(SameTables(Pinned(), Expected(state)));
}

TEST_F(ReconcilerTest, SyncInterfacesAttachesRoutedPodsAndTheDefaultRouteUplink) {
  // x/a and y/c are routed; x/b's veth has no route yet.
  FW_ASSERT_OK(lab::RunIpBatch(node_, {"route add 10.40.0.1/32 dev vh1",
                                       "route add 10.40.0.3/32 dev vh3"}));
  Reconciler reconciler(*datapath_, kNode);
  FW_ASSERT_OK(Initialize(reconciler, BaseState()));
  absl::StatusOr<AttachReport> report = SyncInterfaces(reconciler);
  FW_ASSERT_OK(report);
  EXPECT_THAT(report->attached, ElementsAre("x/a", "y/c"));
  EXPECT_THAT(report->waiting, ElementsAre("x/b"));
  EXPECT_EQ(reconciler.AttachedPods(), 2u);
  EXPECT_EQ(AttachedId("vh1", TcHook::kIngress), OurProgramId(FW_HOOK_FROM_POD));
  EXPECT_EQ(AttachedId("vh1", TcHook::kEgress), OurProgramId(FW_HOOK_TO_POD));
  EXPECT_EQ(AttachedId("vh2", TcHook::kIngress), 0u);
  EXPECT_EQ(AttachedId("d0", TcHook::kEgress), OurProgramId(FW_HOOK_UPLINK));

  // The late route appears; a pod that leaves the state is detached.
  FW_ASSERT_OK(lab::RunIpBatch(node_, {"route add 10.40.0.2/32 dev vh2"}));
  FW_ASSERT_OK(reconciler.Apply({Delete(PodBuilder("y", "c").Build())}));
  report = SyncInterfaces(reconciler);
  FW_ASSERT_OK(report);
  EXPECT_THAT(report->attached, ElementsAre("x/b"));
  EXPECT_THAT(report->detached, ElementsAre("y/c"));
  EXPECT_THAT(report->waiting, IsEmpty());
  EXPECT_EQ(reconciler.AttachedPods(), 2u);
  EXPECT_EQ(AttachedId("vh2", TcHook::kEgress), OurProgramId(FW_HOOK_TO_POD));
  EXPECT_EQ(AttachedId("vh3", TcHook::kEgress), 0u);
}

TEST_F(ReconcilerTest, SyncInterfacesFollowsTheNodeAddresses) {
  Reconciler reconciler(*datapath_, kNode);
  FW_ASSERT_OK(Initialize(reconciler, BaseState()));

  FW_ASSERT_OK(lab::RunIpBatch(node_, {"addr add 192.168.60.2/24 dev d0"}));
  host_addresses_.push_back("192.168.60.2");
  FW_ASSERT_OK(SyncInterfaces(reconciler));
  EXPECT_TRUE(SameTables(Pinned(), Expected(BaseState())));

  FW_ASSERT_OK(lab::RunIpBatch(node_, {"addr del 192.168.50.2/24 dev d0"}));
  host_addresses_ = {"192.168.60.2", "fd00:50::2"};
  FW_ASSERT_OK(SyncInterfaces(reconciler));
  EXPECT_TRUE(SameTables(Pinned(), Expected(BaseState())));
  // A vanished address could have been a pod's too: a resync makes sure, changing nothing.
  EXPECT_TRUE(reconciler.needs_resync());
  absl::StatusOr<ReconcileResult> resync = reconciler.Resync();
  FW_ASSERT_OK(resync);
  EXPECT_EQ(resync->entries_written, 0u);
  EXPECT_FALSE(reconciler.needs_resync());
}

}  // namespace
}  // namespace flatwall::agent::testing
