// Routes and addresses read over rtnetlink inside a private namespace built for each test
// (a dummy "uplink", veths standing for pod veths), compared with exactly what was
// configured there.
#include "agent/host_routes.h"

#include <string>
#include <vector>

#include "agent/lab/netns.h"
#include "gtest/gtest.h"
#include "policy-compiler/status_macros.h"
#include "tests/agent/kernel_test_fixture.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::ElementsAre;

class HostRoutesTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (IsSkipped()) return;
    netns_ = MakeNetns("routes");
    // d0 stands for the node's underlay, v0/v1 for host sides of pod veths. All are veth
    // pairs (the kernel may lack the dummy module) whose peers stay here: routes do not
    // care where the other end lives.
    std::vector<std::string> lines = {"link set lo up"};
    for (const char* device : {"d0", "v0", "v1"}) {
      lines.push_back(absl::StrCat("link add ", device, " type veth peer name ", device, "p"));
      lines.push_back(absl::StrCat("link set ", device, "p up"));
      lines.push_back(absl::StrCat("link set ", device, " up"));
    }
    lines.push_back("addr add 10.20.0.1/24 dev d0");
    lines.push_back("addr add fd00:20::1/64 dev d0 nodad");
    FW_ASSERT_OK(lab::RunIpBatch(netns_, lines));
  }

  std::string netns_;
};

TEST_F(HostRoutesTest, ReportsFullLengthMainTableRoutesOnly) {
  FW_ASSERT_OK(lab::RunIpBatch(netns_, {
                                           "route add 10.30.0.5/32 dev v0",
                                           "route add 10.30.0.6/32 dev v1",
                                           "route add 10.40.0.0/24 dev d0",
                                           "route add 10.30.0.7/32 dev v0 table 100",
                                           "route add blackhole 10.30.0.8/32",
                                           "route add fd00:30::5/128 dev v0",
                                           "route add fd00:40::/64 dev d0",
                                           "route add default via 10.20.0.254 dev d0",
                                       }));
  const int v0 = Ifindex(netns_, "v0");
  const int v1 = Ifindex(netns_, "v1");
  HostRoutes routes;
  FW_ASSERT_OK(lab::RunInNetns(netns_, [&]() -> absl::Status {
    absl::StatusOr<HostRoutes> read = HostRouteInterfaces();
    if (read.ok()) routes = *read;
    return read.status();
  }));
  // Not reported: the /24 and /64, table 100, the blackhole, the default route, and the
  // local table's routes to the node's own addresses.
  const HostRoutes want = {
      {Ip("10.30.0.5"), v0}, {Ip("10.30.0.6"), v1}, {Ip("fd00:30::5"), v0}};
  EXPECT_EQ(routes, want);
}

TEST_F(HostRoutesTest, LowestMetricWinsForOneDestination) {
  FW_ASSERT_OK(lab::RunIpBatch(netns_, {
                                           "route add fd00:30::9/128 dev v0 metric 200",
                                           "route add fd00:30::9/128 dev v1 metric 100",
                                       }));
  const int v1 = Ifindex(netns_, "v1");
  HostRoutes routes;
  FW_ASSERT_OK(lab::RunInNetns(netns_, [&]() -> absl::Status {
    absl::StatusOr<HostRoutes> read = HostRouteInterfaces();
    if (read.ok()) routes = *read;
    return read.status();
  }));
  EXPECT_EQ(routes, (HostRoutes{{Ip("fd00:30::9"), v1}}));
}

TEST_F(HostRoutesTest, NodeAddressesAreEveryAddressButIpv6LinkLocal) {
  FW_ASSERT_OK(lab::RunIpBatch(netns_, {"addr add 10.21.0.1/32 dev v0"}));
  std::vector<compiler::IpAddress> addresses;
  FW_ASSERT_OK(lab::RunInNetns(netns_, [&]() -> absl::Status {
    absl::StatusOr<std::vector<compiler::IpAddress>> read = NodeAddresses();
    if (read.ok()) addresses = *read;
    return read.status();
  }));
  // Sorted by their 16-byte form: IPv6 (::1, fd00:…) around the IPv4-mapped ones.
  EXPECT_THAT(addresses, ElementsAre(Ip("::1"), Ip("10.20.0.1"), Ip("10.21.0.1"),
                                     Ip("127.0.0.1"), Ip("fd00:20::1")));
}

TEST_F(HostRoutesTest, DefaultRouteInterfaceIsTheLowestMetricIpv4Default) {
  const int d0 = Ifindex(netns_, "d0");
  FW_ASSERT_OK(lab::RunIpBatch(netns_, {
                                           "addr add 10.22.0.1/24 dev v1",
                                           "route add default via 10.22.0.254 dev v1 metric 50",
                                           "route add default via 10.20.0.254 dev d0 metric 10",
                                           "route add ::/0 dev v0",
                                       }));
  int uplink = 0;
  FW_ASSERT_OK(lab::RunInNetns(netns_, [&]() -> absl::Status {
    FW_ASSIGN_OR_RETURN(uplink, DefaultRouteInterface());
    return absl::OkStatus();
  }));
  EXPECT_EQ(uplink, d0);
}

TEST_F(HostRoutesTest, NoIpv4DefaultRouteIsNotFound) {
  FW_ASSERT_OK(lab::RunIpBatch(netns_, {"route add ::/0 via fd00:20::fe dev d0"}));
  FW_ASSERT_OK(lab::RunInNetns(netns_, [&]() -> absl::Status {
    EXPECT_THAT(DefaultRouteInterface(), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
    return absl::OkStatus();
  }));
}

}  // namespace
}  // namespace flatwall::agent::testing
