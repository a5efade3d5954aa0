// Every example of examples/policies/ in the lab with real agents and real traffic: the
// example's directory is built as a 2-node lab (one flatwall-agent per node enforcing its
// policies), each address outside the cluster that expected.txt names becomes a host on
// the VPC fabric, and every cell is probed with a real TCP connection or UDP exchange.
// One test per example, each with a lab of its own, so ctest -j runs them side by side.
// Needs root; skips without it.
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/lab/lab.h"
#include "agent/lab/netns.h"
#include "agent/lab/server_launcher.h"
#include "gtest/gtest.h"
#include "tests/examples/example_catalog.h"
#include "tests/lab/lab_test_util.h"

namespace flatwall::examples {
namespace {

using compiler::IpAddress;
using compiler::Protocol;
using lab::PodPlan;
using lab::ServedPort;
using lab::TopologyPlan;

// A denied probe waits this long; allowed ones answer in milliseconds.
constexpr std::chrono::milliseconds kTimeout{700};
// The fabric's bridge and its addresses (docs/lab.md): the outside hosts' gateway.
constexpr char kFabricBridge[] = "vpc0";
constexpr char kFabricIpv4[] = "10.10.0.1";
constexpr char kFabricIpv6[] = "fd00:10::1";

// Builds a host outside the cluster at `ip`, attached to the VPC fabric's bridge like a
// VPC endpoint or an internet gateway's far side, serving `ports` with `flatwall lab
// serve` (which answers with the host's name: its address). Its namespace carries the
// lab's prefix, so `lab down` removes it, its veth and its server with the lab. Returned
// as a PodPlan so the lab's prober can probe to and from it.
absl::StatusOr<PodPlan> BuildOutsideHost(const TopologyPlan& plan, int index,
                                         const IpAddress& ip,
                                         const std::vector<ServedPort>& ports) {
  lab::LabNames names(plan.lab_name);
  PodPlan host;
  host.key = ip.ToString();
  host.netns = absl::StrCat(names.NetnsPrefix(), "out", index);
  (ip.is_v4() ? host.ipv4 : host.ipv6) = ip;
  host.ports = ports;
  std::string fabric_link = absl::StrCat("out", index);
  std::string host_route = absl::StrCat(host.key, ip.is_v4() ? "/32" : "/128");
  if (absl::Status created = lab::CreateNetns(host.netns); !created.ok()) return created;
  if (absl::Status linked = lab::RunIpBatch(
          plan.fabric_netns,
          {absl::StrCat("link add ", fabric_link, " type veth peer name eth0 netns ", host.netns),
           absl::StrCat("link set ", fabric_link, " master ", kFabricBridge),
           absl::StrCat("link set ", fabric_link, " up"),
           absl::StrCat("route add ", host_route, " dev ", kFabricBridge)});
      !linked.ok()) {
    return linked;
  }
  if (absl::Status addressed = lab::RunIpBatch(
          host.netns,
          {"link set lo up",
           absl::StrCat("addr add ", host_route, " dev eth0", ip.is_v4() ? "" : " nodad"),
           "link set eth0 up",
           ip.is_v4() ? absl::StrCat("route add default via ", kFabricIpv4, " dev eth0 onlink")
                      : absl::StrCat("route add ::/0 via ", kFabricIpv6, " dev eth0 onlink")});
      !addressed.ok()) {
    return addressed;
  }
  if (absl::Status served = lab::StartPodServers(names, lab::FlatwallBinary(), {&host});
      !served.ok()) {
    return served;
  }
  return host;
}

class ExamplesLabTest : public lab::RealLabTest,
                        public ::testing::WithParamInterface<std::string> {};

TEST_P(ExamplesLabTest, RealTrafficMatchesEveryExpectedCell) {
  absl::StatusOr<std::vector<ExpectedCell>> cells =
      ReadExpectedCells(ExamplesDir() / GetParam() / kExpectedFile);
  ASSERT_TRUE(cells.ok()) << cells.status();

  lab::UpOptions options;
  options.name = lab_name_;
  options.flatwall_binary = lab::FlatwallBinary();
  options.files = {(ExamplesDir() / GetParam()).string()};
  absl::StatusOr<TopologyPlan> plan = lab::LabUp(options);
  ASSERT_TRUE(plan.ok()) << plan.status();

  // Every outside address serves every port the cells probe, so a denied cell is denied by
  // policy, never by a closed port.
  std::set<std::string> outside;
  std::set<ServedPort> ports;
  for (const ExpectedCell& cell : *cells) {
    for (const std::string& end : {cell.from, cell.to}) {
      if (!IsPod(end)) outside.insert(end);
    }
    ports.insert({cell.protocol, cell.port});
  }
  TopologyPlan probed = *plan;
  int index = 0;
  for (const std::string& address : outside) {
    absl::StatusOr<IpAddress> ip = IpAddress::Parse(address);
    ASSERT_TRUE(ip.ok()) << ip.status();
    absl::StatusOr<PodPlan> host =
        BuildOutsideHost(*plan, index++, *ip, std::vector<ServedPort>(ports.begin(), ports.end()));
    ASSERT_TRUE(host.ok()) << host.status();
    probed.pods.push_back(*std::move(host));
  }

  std::map<std::pair<Protocol, uint16_t>, std::vector<const ExpectedCell*>> by_port;
  for (const ExpectedCell& cell : *cells) by_port[{cell.protocol, cell.port}].push_back(&cell);
  for (const auto& [protocol_port, port_cells] : by_port) {
    const lab::ProbeOptions options{protocol_port.second, protocol_port.first,
                                    /*via_service=*/false, kTimeout};
    absl::StatusOr<std::vector<lab::ProbeResult>> results = lab::ProbeAllPairs(probed, options);
    ASSERT_TRUE(results.ok()) << results.status();
    std::map<std::pair<std::string, std::string>, const lab::ProbeResult*> by_flow;
    for (const lab::ProbeResult& result : *results) {
      by_flow[{result.reachability.from, result.reachability.to}] = &result;
    }
    for (const ExpectedCell* cell : port_cells) {
      auto found = by_flow.find({cell->from, cell->to});
      ASSERT_NE(found, by_flow.end()) << cell->ToString() << ": not probed";
      lab::ProbeResult result = *found->second;
      lab::ProbeAgainIfAllowedFlowTimedOut(probed, cell->allowed, options, &result);
      EXPECT_EQ(result.reachability.allowed, cell->allowed)
          << cell->ToString() << ": probe to " << result.address << " "
          << lab::ProbeOutcomeName(result.outcome) << " " << result.detail;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, ExamplesLabTest, ::testing::ValuesIn(ExampleNames()),
                         [](const auto& info) { return TestNameOf(info.param); });

}  // namespace
}  // namespace flatwall::examples
