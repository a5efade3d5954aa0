// The lab built for real from the upstream e2e cluster (9 pods on 2 nodes) without agents:
// every probe must get through, since nothing enforces policy, and the topology must be
// the VPC CNI's. Needs root; skips without it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "agent/lab/lab.h"
#include "agent/lab/netns.h"
#include "agent/lab/run_command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/lab/lab_test_util.h"
#include "tests/testing/reachability_cluster.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::lab {
namespace {

using compiler::Protocol;
using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// Generous: an allowed probe answers in milliseconds, but CI shares two cores.
constexpr std::chrono::milliseconds kTimeout{2000};

class E2eLabTest : public RealLabTest {
 protected:
  void SetUp() override {
    RealLabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    UpOptions options;
    options.name = lab_name_;
    options.agents = false;
    options.flatwall_binary = FlatwallBinary();
    options.files = {temp_.Write("cluster.yaml", testing::E2eClusterYaml())};
    absl::StatusOr<TopologyPlan> plan = LabUp(options);
    ASSERT_TRUE(plan.ok()) << plan.status();
    plan_ = *plan;
  }

  std::vector<ProbeResult> Probe(uint16_t port, Protocol protocol, bool via_service) {
    absl::StatusOr<std::vector<ProbeResult>> results =
        LabProbe(lab_name_, {port, protocol, via_service, kTimeout});
    EXPECT_TRUE(results.ok()) << results.status();
    return results.ok() ? *results : std::vector<ProbeResult>{};
  }

  // Sends a request from inside `netns` to ip:port over TCP and returns the reply line.
  static std::string Ask(const std::string& netns, const std::string& ip, uint16_t port) {
    std::string reply;
    absl::Status status = RunInNetns(netns, [&]() -> absl::Status {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      timeval timeout{2, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));  // bounds connect
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port);
      inet_pton(AF_INET, ip.c_str(), &address.sin_addr);
      if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
          write(fd, "hello\n", 6) == 6) {
        char buffer[128];
        ssize_t n;
        while ((n = read(fd, buffer, sizeof(buffer))) > 0) reply.append(buffer, n);
      }
      close(fd);
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
    return reply;
  }

  TopologyPlan plan_;
};

TEST_F(E2eLabTest, EveryPairIsAllowedWithoutAgentsDirectlyAndViaServices) {
  struct Case {
    uint16_t port;
    Protocol protocol;
    bool via_service;
  };
  for (Case c : {Case{80, Protocol::kTcp, false}, Case{81, Protocol::kUdp, false},
                 Case{80, Protocol::kTcp, true}, Case{81, Protocol::kUdp, true}}) {
    SCOPED_TRACE(absl::StrCat(std::string(compiler::ProtocolName(c.protocol)), "/", c.port,
                              c.via_service ? " via Services" : " direct"));
    auto start = std::chrono::steady_clock::now();
    std::vector<ProbeResult> results = Probe(c.port, c.protocol, c.via_service);
    EXPECT_LT(std::chrono::steady_clock::now() - start, kTimeout);
    ASSERT_EQ(results.size(), 81u);
    std::vector<std::string> names = testing::E2ePodNames();
    for (size_t i = 0; i < results.size(); ++i) {
      const ProbeResult& result = results[i];
      SCOPED_TRACE(absl::StrCat(result.reachability.from, " -> ", result.reachability.to, " at ",
                                result.address));
      EXPECT_EQ(result.reachability.from, names[i / 9]);
      EXPECT_EQ(result.reachability.to, names[i % 9]);
      EXPECT_TRUE(result.reachability.allowed)
          << ProbeOutcomeName(result.outcome) << " " << result.detail;
      bool self = i / 9 == i % 9;
      std::string expected_ip =
          c.via_service && !self ? "10.96.0." : testing::E2ePodIp(result.reachability.to) + ":";
      EXPECT_THAT(result.address, ::testing::StartsWith(expected_ip));
    }
  }
}

TEST_F(E2eLabTest, PortNobodyServesIsRefusedAtOnce) {
  for (Protocol protocol : {Protocol::kTcp, Protocol::kUdp}) {
    SCOPED_TRACE(compiler::ProtocolName(protocol));
    auto start = std::chrono::steady_clock::now();
    std::vector<ProbeResult> results = Probe(82, protocol, false);
    EXPECT_LT(std::chrono::steady_clock::now() - start, kTimeout / 2);
    ASSERT_EQ(results.size(), 81u);
    for (const ProbeResult& result : results) {
      SCOPED_TRACE(result.reachability.from + " -> " + result.reachability.to);
      EXPECT_FALSE(result.reachability.allowed);
      EXPECT_EQ(result.outcome, ProbeOutcome::kRefused) << ProbeOutcomeName(result.outcome);
    }
  }
}

// Including z/c through its own Service: the hairpin case kube-proxy masquerades.
TEST_F(E2eLabTest, ServersAnswerWithTheirOwnPodName) {
  const PodPlan& client = *plan_.FindPod("z/c");
  for (const PodPlan& server : plan_.pods) {
    SCOPED_TRACE(server.key);
    EXPECT_EQ(Ask(client.netns, server.ipv4->ToString(), 81), server.key + "\n");
    std::optional<ServiceAddress> service = FindServiceFor(plan_, server.key, Protocol::kTcp, 80);
    ASSERT_TRUE(service.has_value());
    EXPECT_EQ(Ask(client.netns, service->ip.ToString(), service->port), server.key + "\n");
  }
}

TEST_F(E2eLabTest, TopologyIsTheVpcCnisAndStaysInTheLabsNamespaces) {
  const PodPlan& pod = *plan_.FindPod("y/b");
  const NodePlan& node = plan_.nodes[0];
  ASSERT_EQ(pod.node, node.name);
  absl::StatusOr<std::string> addresses =
      RunCommand(InNetns(pod.netns, {"ip", "-o", "addr", "show", "eth0"}));
  FW_ASSERT_OK(addresses);
  EXPECT_THAT(*addresses, HasSubstr("inet 10.10.1.22/32"));
  absl::StatusOr<std::string> routes = RunCommand(InNetns(pod.netns, {"ip", "route"}));
  FW_ASSERT_OK(routes);
  EXPECT_THAT(*routes, HasSubstr("default via 169.254.1.1 dev eth0 onlink"));
  absl::StatusOr<std::string> node_routes = RunCommand(InNetns(node.netns, {"ip", "route"}));
  FW_ASSERT_OK(node_routes);
  EXPECT_THAT(*node_routes, HasSubstr("10.10.1.22 dev " + pod.host_veth + " scope link"));
  absl::StatusOr<std::string> fabric_routes = RunCommand(InNetns(plan_.fabric_netns, {"ip", "route"}));
  FW_ASSERT_OK(fabric_routes);
  EXPECT_THAT(*fabric_routes, HasSubstr("10.10.1.22 via 10.10.0.11 dev vpc0"));
  for (const NodePlan& each : plan_.nodes) {
    SCOPED_TRACE(each.name);
    absl::StatusOr<std::string> rules =
        RunCommand(InNetns(each.netns, {"iptables", "-w", "-t", "nat", "-S"}));
    FW_ASSERT_OK(rules);
    EXPECT_THAT(*rules, HasSubstr("--to-destination 10.10.1.22:80"));
  }
  // Nothing of the lab in the caller's namespace.
  absl::StatusOr<std::string> root_links = RunCommand({"ip", "-o", "link"});
  FW_ASSERT_OK(root_links);
  EXPECT_THAT(*root_links, Not(HasSubstr(pod.host_veth)));
  EXPECT_THAT(*root_links, Not(HasSubstr("vpc0")));
}

TEST_F(E2eLabTest, CliProbePrintsTheSameJsonAsMatrix) {
  absl::StatusOr<std::string> output =
      RunCommand({FlatwallBinary(), "lab", "probe", "--name", lab_name_, "--port", "81",
                  "--protocol", "UDP", "--via-service", "-o", "json"});
  FW_ASSERT_OK(output);
  nlohmann::json cells = nlohmann::json::parse(*output);
  ASSERT_EQ(cells.size(), 81u);
  EXPECT_EQ(
      cells[1],
      nlohmann::json(
          {{"from", "x/a"}, {"to", "x/b"}, {"port", 81}, {"protocol", "UDP"}, {"allowed", true}}));
  absl::StatusOr<std::string> grid =
      RunCommand({FlatwallBinary(), "lab", "probe", "--name", lab_name_});
  FW_ASSERT_OK(grid);
  EXPECT_THAT(*grid, HasSubstr("reachability on TCP/80"));
  EXPECT_THAT(*grid, HasSubstr(" 9 z/c   .  .  .  .  .  .  .  .  .\n"));
}

TEST_F(E2eLabTest, DownRemovesEverythingAndIsIdempotent) {
  std::vector<pid_t> servers = LabProcesses();
  EXPECT_EQ(servers.size(), 9u);
  absl::StatusOr<TeardownReport> report = LabDown(lab_name_);
  FW_ASSERT_OK(report);
  EXPECT_EQ(report->processes_stopped, 9);
  EXPECT_EQ(report->namespaces_deleted.size(), 1 + 2 + 9u);
  EXPECT_TRUE(report->state_dir_removed);
  ExpectNothingLeft(servers);
  report = LabDown(lab_name_);
  FW_ASSERT_OK(report);
  EXPECT_TRUE(report->nothing_found());
}

TEST_F(E2eLabTest, SecondLabWithTheSameNameIsRefused) {
  UpOptions options;
  options.name = lab_name_;
  options.agents = false;
  options.flatwall_binary = FlatwallBinary();
  options.files = {temp_.path() + "/cluster.yaml"};
  EXPECT_THAT(LabUp(options),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("exists already")));
}

class LabUpFailureTest : public RealLabTest {};

TEST_F(LabUpFailureTest, MissingAgentBinaryFailsBeforeAnythingIsBuilt) {
  UpOptions options;
  options.name = lab_name_;
  options.agent_binary = temp_.path() + "/no-such-agent";
  options.flatwall_binary = FlatwallBinary();
  options.files = {temp_.Write("cluster.yaml", testing::E2eClusterYaml())};
  EXPECT_THAT(LabUp(options), StatusIs(absl::StatusCode::kNotFound, HasSubstr("no-such-agent")));
  options.agent_binary = "";
  options.flatwall_binary = temp_.path() + "/bin/flatwall";  // no flatwall-agent next to it
  EXPECT_THAT(LabUp(options), StatusIs(absl::StatusCode::kNotFound, HasSubstr("--no-agents")));
  ExpectNothingLeft();
}

TEST_F(LabUpFailureTest, FailureHalfWayRemovesWhatWasBuilt) {
  UpOptions options;
  options.name = lab_name_;
  options.agents = false;
  options.flatwall_binary = temp_.path() + "/not-flatwall";  // the servers cannot start
  options.files = {temp_.Write("cluster.yaml", testing::E2eClusterYaml())};
  EXPECT_THAT(LabUp(options),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("was removed again")));
  ExpectNothingLeft();
}

}  // namespace
}  // namespace flatwall::lab
