// Source-address enforcement at the from-pod hook: only the addresses bound to the veth
// (agent/veth_binding.h) may leave it; neighbour discovery from :: or fe80::/10 passes;
// an unbound veth drops everything as SPOOFED; a packet of a flow whose conntrack entry
// was made on this veth needs no binding.
#include <bpf/bpf.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "abi/datapath_maps.h"
#include "abi/verdict.h"
#include "agent/packet_builder.h"
#include "agent/verdict_names.h"
#include "agent/veth_binding.h"
#include "gtest/gtest.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/datapath/scenario.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using namespace scenario;  // NOLINT: the scenario's names are the test's vocabulary
using ::flatwall::testing::StatusIs;

constexpr uint8_t kRouterSolicitation = 133;
constexpr uint8_t kNeighborSolicitation = 135;

std::vector<uint8_t> Tcp(const std::string& from, const std::string& to, uint16_t sport,
                         uint16_t dport, uint8_t flags = PacketBuilder::kSyn) {
  return PacketBuilder(Ip(from), Ip(to)).Tcp(sport, dport, flags).Build();
}

// A neighbour solicitation for `target` (reserved word, then the target address).
std::vector<uint8_t> NeighborSolicitation(const std::string& from, const std::string& target) {
  std::vector<uint8_t> rest(4, 0);
  const auto& bytes = Ip(target).bytes();
  rest.insert(rest.end(), bytes.begin(), bytes.end());
  return PacketBuilder(Ip(from), Ip("ff02::1:ff00:10")).Icmp(kNeighborSolicitation, 0, rest).Build();
}

class SourceCheckTest : public DatapathTest {
 protected:
  void SetUp() override {
    DatapathTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    bind_source_on_run_ = false;
    Seed(StandardTables());
    // The test-run device is the server pod's veth.
    FW_ASSERT_OK(BindVeth(*datapath_, kTestRunIfindex, {Ip(kServer), Ip(kServer6)}));
  }

  std::string ReasonOf(const std::vector<uint8_t>& frame) {
    return std::string(ReasonName(Run(FW_HOOK_FROM_POD, frame).reason));
  }

  // Rewrites the veth every conntrack entry records.
  void SetFlowsVeth(uint32_t ifindex) {
    for (auto [key, value] : Flows()) {
      fw_ct_set_veth(&value, ifindex);
      ASSERT_EQ(bpf_map_update_elem(datapath_->map_fd(DatapathMap::kConntrack), &key, &value,
                                    BPF_EXIST),
                0);
    }
  }
};

TEST_F(SourceCheckTest, OnlyTheVethsOwnAddressesAndLinkLocalNeighborDiscoveryPass) {
  struct Case {
    std::string name;
    std::vector<uint8_t> frame;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"own IPv4 address, allowed egress", Tcp(kServer, kWebA, 40000, 8080), "RULE"},
      {"own IPv4 address, denied egress", Tcp(kServer, kWorld, 40000, 80), "DEFAULT_DENY"},
      {"own IPv6 address", Tcp(kServer6, kClient6, 40000, 80), "DEFAULT_DENY"},
      {"another local pod's address", Tcp(kClient, kServer, 40000, 80), "SPOOFED"},
      {"another local pod's IPv6 address", Tcp(kClient6, kServer6, 40000, 80), "SPOOFED"},
      {"an address that is no endpoint", Tcp(kUnmanaged, kWorld, 40000, 80), "SPOOFED"},
      {"a remote pod's address", Tcp(kWebA, kWorld, 40000, 80), "SPOOFED"},
      {"neighbour solicitation from ::", NeighborSolicitation("::", kServer6),
       "NEIGHBOR_DISCOVERY"},
      {"neighbour solicitation from fe80::", NeighborSolicitation("fe80::1", kNode6),
       "NEIGHBOR_DISCOVERY"},
      {"router solicitation from fe80::",
       PacketBuilder(Ip("fe80::1"), Ip("ff02::2"))
           .Icmp(kRouterSolicitation, 0, std::vector<uint8_t>(4, 0))
           .Build(),
       "NEIGHBOR_DISCOVERY"},
      {"neighbour solicitation from another pod's address",
       NeighborSolicitation(kClient6, kNode6), "SPOOFED"},
      {"ICMPv6 echo from fe80:: (only ND is exempt)",
       PacketBuilder(Ip("fe80::1"), Ip(kNode6)).IcmpEcho(7).Build(), "SPOOFED"},
      {"ARP carries no IP source", PacketBuilder::Arp(), "NOT_IP"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ReasonOf(c.frame), c.reason);
  }
}

TEST_F(SourceCheckTest, SpoofedPacketsAreDroppedNotPassed) {
  const RunResult result = Run(FW_HOOK_FROM_POD, Tcp(kClient, kServer, 40000, 80));
  EXPECT_EQ(result.verdict, FW_VERDICT_DENY);
  EXPECT_EQ(result.tc_action, 2);  // TC_ACT_SHOT
}

TEST_F(SourceCheckTest, VethWithoutBindingFailsClosed) {
  FW_ASSERT_OK(UnbindVeth(*datapath_, kTestRunIfindex));
  EXPECT_EQ(ReasonOf(Tcp(kServer, kWebA, 40000, 8080)), "SPOOFED");
  EXPECT_EQ(ReasonOf(Tcp(kUnmanaged, kWorld, 40000, 80)), "SPOOFED");
  // Link-local neighbour discovery needs no binding.
  EXPECT_EQ(ReasonOf(NeighborSolicitation("::", kServer6)), "NEIGHBOR_DISCOVERY");
}

TEST_F(SourceCheckTest, EstablishedRepliesFromTheOwnAddressStillPass) {
  // The client connects to the server (ingress rule kClientTcp80); the server replies.
  ASSERT_EQ(Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 80)).verdict, FW_VERDICT_ALLOW);
  EXPECT_EQ(ReasonOf(Tcp(kServer, kClient, 80, 40000, PacketBuilder::kSyn | PacketBuilder::kAck)),
            "ESTABLISHED");
}

// Test runs all use one device, so "another veth" is an entry whose recorded veth is not
// the test-run device's.
TEST_F(SourceCheckTest, TrackedFlowOfAnotherVethDoesNotExemptFromTheCheck) {
  ASSERT_EQ(Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 80)).verdict, FW_VERDICT_ALLOW);
  SetFlowsVeth(kTestRunIfindex + 6);
  // Another pod's veth (bound to kOpen) forging the server's reply.
  FW_ASSERT_OK(BindVeth(*datapath_, kTestRunIfindex, {Ip(kOpen)}));
  EXPECT_EQ(ReasonOf(Tcp(kServer, kClient, 80, 40000, PacketBuilder::kSyn | PacketBuilder::kAck)),
            "SPOOFED");
}

TEST_F(SourceCheckTest, FlowsRecordTheVethOfTheirLocalEndpoint) {
  ASSERT_EQ(Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 80)).verdict, FW_VERDICT_ALLOW);
  ASSERT_EQ(Run(FW_HOOK_FROM_POD, Tcp(kServer, kWebA, 40001, 8080)).verdict, FW_VERDICT_ALLOW);
  const auto flows = Flows();
  ASSERT_EQ(flows.size(), 2u);
  for (const auto& [key, value] : flows) {
    EXPECT_EQ(fw_ct_veth(&value), kTestRunIfindex);
  }
}

TEST_F(SourceCheckTest, FlowMadeOnThisVethProvesTheSourceWithoutTheBinding) {
  ASSERT_EQ(Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 80)).verdict, FW_VERDICT_ALLOW);
  ASSERT_EQ(Run(FW_HOOK_FROM_POD, Tcp(kServer, kWebA, 40001, 8080)).verdict, FW_VERDICT_ALLOW);
  // Without a binding the full check would drop everything (VethWithoutBindingFailsClosed).
  FW_ASSERT_OK(UnbindVeth(*datapath_, kTestRunIfindex));
  EXPECT_EQ(ReasonOf(Tcp(kServer, kClient, 80, 40000, PacketBuilder::kSyn | PacketBuilder::kAck)),
            "ESTABLISHED");
  EXPECT_EQ(ReasonOf(Tcp(kServer, kWebA, 40001, 8080, PacketBuilder::kAck)), "ESTABLISHED");
  EXPECT_EQ(ReasonOf(Tcp(kServer, kWebA, 40002, 8080)), "SPOOFED");  // a new flow
}

TEST_F(SourceCheckTest, FlowWithoutARecordedVethGetsTheFullCheck) {
  // Entries made by an older datapath, or on a veth whose ifindex needs more than 24 bits.
  ASSERT_EQ(Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 80)).verdict, FW_VERDICT_ALLOW);
  SetFlowsVeth(0);
  EXPECT_EQ(ReasonOf(Tcp(kServer, kClient, 80, 40000, PacketBuilder::kSyn | PacketBuilder::kAck)),
            "ESTABLISHED");
  FW_ASSERT_OK(UnbindVeth(*datapath_, kTestRunIfindex));
  EXPECT_EQ(ReasonOf(Tcp(kServer, kClient, 80, 40000, PacketBuilder::kAck)), "SPOOFED");
}

TEST_F(SourceCheckTest, RebindingReplacesTheAddresses) {
  FW_ASSERT_OK(BindVeth(*datapath_, kTestRunIfindex, {Ip(kClient)}));
  EXPECT_EQ(ReasonOf(Tcp(kServer, kWebA, 40000, 8080)), "SPOOFED");
  EXPECT_EQ(ReasonOf(Tcp(kClient, kServer, 40000, 80)), "RULE");
}

TEST_F(SourceCheckTest, BindingsRoundTripInTheArrayAndInTheLargeIfindexHash) {
  for (const int ifindex : {kTestRunIfindex, 70000}) {
    SCOPED_TRACE(ifindex);
    FW_ASSERT_OK(BindVeth(*datapath_, ifindex, {Ip(kClient), Ip(kClient6)}));
    absl::StatusOr<std::vector<compiler::IpAddress>> bound = VethAddresses(*datapath_, ifindex);
    FW_ASSERT_OK(bound);
    EXPECT_EQ(*bound, (std::vector<compiler::IpAddress>{Ip(kClient), Ip(kClient6)}));
    FW_ASSERT_OK(UnbindVeth(*datapath_, ifindex));
    bound = VethAddresses(*datapath_, ifindex);
    FW_ASSERT_OK(bound);
    EXPECT_TRUE(bound->empty());
    FW_EXPECT_OK(UnbindVeth(*datapath_, ifindex));  // unbinding twice is fine
  }
}

TEST_F(SourceCheckTest, BindRejectsBadIfindexAndTooManyAddresses) {
  EXPECT_THAT(BindVeth(*datapath_, 0, {Ip(kServer)}),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(UnbindVeth(*datapath_, -1), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  const std::vector<compiler::IpAddress> five(FW_VETH_MAX_ADDRS + 1, Ip(kServer));
  EXPECT_THAT(BindVeth(*datapath_, kTestRunIfindex, five),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

}  // namespace
}  // namespace flatwall::agent::testing
