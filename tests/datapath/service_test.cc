// Connections through a Service ClusterIP, as PROG_TEST_RUN sequences along the real path:
// the client's from-pod hook (destination: the ClusterIP), then — after kube-proxy's DNAT
// — the local backend's to-pod hook or the node uplink (destination: the backend), and
// the un-DNATed reply at the client's to-pod hook (source: the ClusterIP).
#include <netinet/in.h>

#include <string>
#include <vector>

#include "agent/verdict_names.h"
#include "gtest/gtest.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/datapath/scenario.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using namespace scenario;  // NOLINT: the scenario's names are the tests' vocabulary

constexpr uint8_t kSyn = PacketBuilder::kSyn;
constexpr uint8_t kAck = PacketBuilder::kAck;

std::vector<uint8_t> Tcp(const char* from, const char* to, uint16_t sport, uint16_t dport,
                         uint8_t flags = kSyn) {
  return PacketBuilder(Ip(from), Ip(to)).Tcp(sport, dport, flags).Build();
}

class ServiceTest : public DatapathTest {
 protected:
  void SetUp() override {
    DatapathTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Seed(StandardTables());
    FW_ASSERT_OK(writer_->UpsertServices({Ip(kClusterIp), Ip(kClusterIp6)}));
    mark_ = Config().service_mark;
  }

  RunOptions Marked() const { return RunOptions{.mark = mark_}; }

  uint32_t mark_ = 0;
};

TEST_F(ServiceTest, ServiceFlowToLocalBackendIsJudgedAtTheBackendAndRepliesPass) {
  // The client's egress is deferred: the backend is not known yet.
  RunResult out = Run(FW_HOOK_FROM_POD, Tcp(kClient, kClusterIp, 40000, 80));
  EXPECT_EQ(ReasonName(out.reason), "SERVICE_DEFERRED");
  EXPECT_EQ(out.mark & mark_, mark_);
  EXPECT_EQ(mark_, FW_DEFAULT_SERVICE_MARK);

  // After DNAT to the server: the client's egress and the server's ingress both allow.
  RunResult in = Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 80), Marked());
  EXPECT_EQ(in.verdict, FW_VERDICT_ALLOW);
  EXPECT_EQ(ReasonName(in.reason), "RULE");
  EXPECT_EQ(in.rule_id, kClientTcp80);
  bool client_flow = false;
  for (const auto& [key, value] : Flows()) {
    if (compiler::AbiEqual(key.local, AbiAddr(kClient)) &&
        compiler::AbiEqual(key.remote, AbiAddr(kServer))) {
      client_flow = true;
      EXPECT_EQ(value.origin, FW_DIR_EGRESS);
      EXPECT_EQ(value.rule_id, kClientToServer);
    }
  }
  EXPECT_TRUE(client_flow) << "the client's egress to the backend is tracked";

  // The server answers; kube-proxy un-DNATs the reply to come from the ClusterIP.
  EXPECT_EQ(ReasonName(Run(FW_HOOK_FROM_POD, Tcp(kServer, kClient, 80, 40000, kSyn | kAck)).reason),
            "ESTABLISHED");
  EXPECT_EQ(
      ReasonName(Run(FW_HOOK_TO_POD, Tcp(kClusterIp, kClient, 80, 40000, kSyn | kAck)).reason),
      "ESTABLISHED");

  // Later packets: marked again at the client, established at the backend.
  out = Run(FW_HOOK_FROM_POD, Tcp(kClient, kClusterIp, 40000, 80, kAck));
  EXPECT_EQ(ReasonName(out.reason), "ESTABLISHED");
  EXPECT_EQ(out.mark & mark_, mark_);
  in = Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 80, kAck), RunOptions{.mark = out.mark});
  EXPECT_EQ(ReasonName(in.reason), "ESTABLISHED");
}

TEST_F(ServiceTest, LocalBackendTheClientMayNotReachIsDroppedAsClientEgress) {
  EXPECT_EQ(ReasonName(Run(FW_HOOK_FROM_POD, Tcp(kClient, kClusterIp, 40001, 80)).reason),
            "SERVICE_DEFERRED");
  // kOpen accepts everything, but the client's egress allows only the server and backend.
  const RunResult in = Run(FW_HOOK_TO_POD, Tcp(kClient, kOpen, 40001, 80), Marked());
  EXPECT_EQ(in.verdict, FW_VERDICT_DENY);
  EXPECT_EQ(ReasonName(in.reason), "DEFAULT_DENY");
  EXPECT_EQ(in.direction, FW_DIR_EGRESS);
  EXPECT_EQ(in.local_identity, kClientId);
  EXPECT_EQ(in.remote_identity, kOpenId);
}

TEST_F(ServiceTest, RemoteBackendIsJudgedAtTheUplink) {
  struct Case {
    std::string name;
    const char* backend;
    uint16_t port;
    fw_verdict verdict;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"allowed backend", kBackend, 80, FW_VERDICT_ALLOW, "RULE"},
      {"allowed backend, other port", kBackend, 81, FW_VERDICT_DENY, "DEFAULT_DENY"},
      {"backend the client may not reach", kOtherBackend, 80, FW_VERDICT_DENY,
       "DEFAULT_DENY"},
  };
  uint16_t source_port = 41000;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ++source_port;
    const RunResult out = Run(FW_HOOK_FROM_POD, Tcp(kClient, kClusterIp, source_port, c.port));
    EXPECT_EQ(ReasonName(out.reason), "SERVICE_DEFERRED");
    const RunResult up = Run(FW_HOOK_UPLINK, Tcp(kClient, c.backend, source_port, c.port),
                             RunOptions{.mark = out.mark});
    EXPECT_EQ(up.verdict, c.verdict);
    EXPECT_EQ(ReasonName(up.reason), c.reason);
    EXPECT_EQ(up.direction, FW_DIR_EGRESS);
  }
  // The allowed connection's reply comes back from the ClusterIP.
  EXPECT_EQ(ReasonName(Run(FW_HOOK_TO_POD, Tcp(kClusterIp, kClient, 80, 41001, kSyn | kAck)).reason),
            "ESTABLISHED");
}

TEST_F(ServiceTest, UplinkIgnoresUnmarkedPacketsAndToPodSkipsTheSourceCheckWithoutMark) {
  const RunResult up = Run(FW_HOOK_UPLINK, Tcp(kClient, kOtherBackend, 42000, 80));
  EXPECT_EQ(up.verdict, FW_VERDICT_ALLOW);
  EXPECT_EQ(ReasonName(up.reason), "NONE");  // untouched: not even the cb is written

  // Unmarked, a local client's packet was judged at its own from-pod hook already.
  const RunResult in = Run(FW_HOOK_TO_POD, Tcp(kClient, kOpen, 42000, 80));
  EXPECT_EQ(ReasonName(in.reason), "NOT_ISOLATED");
}

TEST_F(ServiceTest, Ipv6ServiceAndUnmanagedClients) {
  const RunResult v6 = Run(FW_HOOK_FROM_POD, Tcp(kClient6, kClusterIp6, 43000, 80));
  EXPECT_EQ(ReasonName(v6.reason), "SERVICE_DEFERRED");
  EXPECT_EQ(v6.mark & mark_, mark_);
  EXPECT_EQ(ReasonName(Run(FW_HOOK_TO_POD, Tcp(kClient6, kServer6, 43000, 80), Marked()).reason),
            "RULE");

  // A pod the agent does not manage is not deferred, nor marked.
  const RunResult unmanaged = Run(FW_HOOK_FROM_POD, Tcp(kUnmanaged, kClusterIp, 43001, 80));
  EXPECT_EQ(ReasonName(unmanaged.reason), "NO_ENDPOINT");
  EXPECT_EQ(unmanaged.mark & mark_, 0u);
}

TEST_F(ServiceTest, LaterFragmentsOfAServiceDatagramCarryTheMarkToo) {
  const std::vector<uint8_t> first = PacketBuilder(Ip(kClient), Ip(kClusterIp))
                                         .Udp(44000, 53)
                                         .Payload(16)
                                         .Fragment(300, 0, true)
                                         .Build();
  const std::vector<uint8_t> later = PacketBuilder(Ip(kClient), Ip(kClusterIp))
                                         .Udp(44000, 53)
                                         .Payload(8)
                                         .Fragment(300, 24, false)
                                         .Build();
  EXPECT_EQ(ReasonName(Run(FW_HOOK_FROM_POD, first).reason), "SERVICE_DEFERRED");
  const RunResult result = Run(FW_HOOK_FROM_POD, later);
  EXPECT_EQ(ReasonName(result.reason), "SERVICE_DEFERRED");
  EXPECT_EQ(result.mark & mark_, mark_);
}

TEST_F(ServiceTest, ServiceMarkIsConfigurable) {
  fw_config config = Config();
  config.service_mark = 0x00400000;
  SetConfig(config);
  const RunResult out = Run(FW_HOOK_FROM_POD, Tcp(kClient, kClusterIp, 45000, 80));
  EXPECT_EQ(out.mark, 0x00400000u);
  const RunResult up =
      Run(FW_HOOK_UPLINK, Tcp(kClient, kOtherBackend, 45000, 80), RunOptions{.mark = out.mark});
  EXPECT_EQ(ReasonName(up.reason), "DEFAULT_DENY");
}

}  // namespace
}  // namespace flatwall::agent::testing
