// Every policy verdict path of the from-pod and to-pod programs, for each kind of rule the
// compiler emits, in IPv4 and IPv6: one table row per packet.
#include <netinet/in.h>

#include <string>
#include <vector>

#include "agent/verdict_names.h"
#include "gtest/gtest.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/datapath/scenario.h"

namespace flatwall::agent::testing {
namespace {

using namespace scenario;  // NOLINT: the scenario's names are the table's vocabulary

struct Case {
  std::string name;
  fw_hook hook;
  PacketBuilder packet;
  fw_verdict verdict;
  fw_reason reason;
  uint32_t rule_id = 0;
};

PacketBuilder Tcp(const char* from, const char* to, uint16_t port) {
  return std::move(PacketBuilder(Ip(from), Ip(to)).Tcp(40000, port));
}
PacketBuilder Udp(const char* from, const char* to, uint16_t port) {
  return std::move(PacketBuilder(Ip(from), Ip(to)).Udp(40000, port).Payload(16));
}
PacketBuilder Sctp(const char* from, const char* to, uint16_t port) {
  return std::move(PacketBuilder(Ip(from), Ip(to)).Sctp(40000, port));
}
PacketBuilder Ping(const char* from, const char* to) {
  return std::move(PacketBuilder(Ip(from), Ip(to)).IcmpEcho(7));
}

class PolicyVerdictTest : public DatapathTest {
 protected:
  void SetUp() override {
    DatapathTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Seed(StandardTables());
  }

  void RunTable(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.name);
      ClearFlows();
      const RunResult result = Run(c.hook, c.packet.Build());
      EXPECT_EQ(VerdictName(result.verdict), VerdictName(c.verdict));
      EXPECT_EQ(ReasonName(result.reason), ReasonName(c.reason));
      EXPECT_EQ(result.rule_id, c.rule_id);
      // Allowed new flows of an endpoint are tracked; drops and unmanaged pods are not.
      const bool tracked = c.verdict == FW_VERDICT_ALLOW && c.reason != FW_REASON_NO_ENDPOINT;
      EXPECT_EQ(Flows().size(), tracked ? 1u : 0u);
    }
  }
};

constexpr fw_verdict kAllow = FW_VERDICT_ALLOW;
constexpr fw_verdict kDeny = FW_VERDICT_DENY;
constexpr fw_hook kToPod = FW_HOOK_TO_POD;
constexpr fw_hook kFromPod = FW_HOOK_FROM_POD;

TEST_F(PolicyVerdictTest, IngressRulesOfEachKindAllowOnlyWhatTheyName) {
  RunTable({
      {"identity rule, its port", kToPod, Tcp(kClient, kServer, 80), kAllow, FW_REASON_RULE,
       kClientTcp80},
      {"identity rule, other port", kToPod, Tcp(kClient, kServer, 81), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"identity rule, other protocol", kToPod, Udp(kClient, kServer, 80), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"identity not named by any rule", kToPod, Tcp(kWebA, kServer, 80), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"endPort range, below", kToPod, Udp(kClient, kServer, 8191), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"endPort range, first port", kToPod, Udp(kClient, kServer, 8192), kAllow,
       FW_REASON_RULE, kClientUdpRange},
      {"endPort range, inside", kToPod, Udp(kClient, kServer, 8500), kAllow, FW_REASON_RULE,
       kClientUdpRange},
      {"endPort range, last port", kToPod, Udp(kClient, kServer, 8703), kAllow,
       FW_REASON_RULE, kClientUdpRange},
      {"endPort range, above", kToPod, Udp(kClient, kServer, 8704), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"endPort range, other protocol", kToPod, Tcp(kClient, kServer, 8192), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"ipBlock, external address", kToPod, Tcp(kExternal, kServer, 443), kAllow,
       FW_REASON_RULE, kBlockTcp443},
      {"ipBlock, pod address inside it", kToPod, Tcp(kPodInBlock, kServer, 443), kAllow,
       FW_REASON_RULE, kBlockTcp443},
      {"ipBlock except", kToPod, Tcp(kExcepted, kServer, 443), kDeny, FW_REASON_DEFAULT_DENY},
      {"outside every ipBlock", kToPod, Tcp(kWorld, kServer, 443), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"ipBlock, other port", kToPod, Tcp(kExternal, kServer, 444), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"any peer, SCTP port", kToPod, Sctp(kWorld, kServer, 5000), kAllow, FW_REASON_RULE,
       kAnySctp5000},
      {"any peer also covers pods", kToPod, Sctp(kClient, kServer, 5000), kAllow,
       FW_REASON_RULE, kAnySctp5000},
      {"any peer, other SCTP port", kToPod, Sctp(kWorld, kServer, 5001), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"all protocols: ICMP", kToPod, Ping(kPinger, kServer), kAllow, FW_REASON_RULE,
       kPingerAll},
      {"all protocols: UDP", kToPod, Udp(kPinger, kServer, 53), kAllow, FW_REASON_RULE,
       kPingerAll},
      {"all protocols: an unknown protocol",
       kToPod, std::move(PacketBuilder(Ip(kPinger), Ip(kServer)).Transport(47, {0, 0, 8, 0})),
       kAllow, FW_REASON_RULE, kPingerAll},
      {"ICMP without an all-protocol rule", kToPod, Ping(kClient, kServer), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"protocol without port: port 1", kToPod, Tcp(kTcpAny, kServer, 1), kAllow,
       FW_REASON_RULE, kTcpAnyAllPorts},
      {"protocol without port: port 65535", kToPod, Tcp(kTcpAny, kServer, 65535), kAllow,
       FW_REASON_RULE, kTcpAnyAllPorts},
      {"protocol without port: other protocol", kToPod, Udp(kTcpAny, kServer, 53), kDeny,
       FW_REASON_DEFAULT_DENY},
  });
}

TEST_F(PolicyVerdictTest, Ipv6RulesMatchLikeIpv4) {
  RunTable({
      {"identity rule", kToPod, Tcp(kClient6, kServer6, 80), kAllow, FW_REASON_RULE,
       kClientTcp80},
      {"identity rule, other port", kToPod, Tcp(kClient6, kServer6, 81), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"ipBlock", kToPod, Tcp(kExternal6, kServer6, 443), kAllow, FW_REASON_RULE,
       kBlock6Tcp443},
      {"ipBlock except", kToPod, Tcp(kExcepted6, kServer6, 443), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"IPv4 ipBlock does not hold IPv6", kToPod, Tcp("fd00:3::1", kServer6, 443), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"ICMPv6 under all protocols", kToPod, Ping(kPinger6, kServer6), kAllow, FW_REASON_RULE,
       kPingerAll},
      {"node", kToPod, Tcp(kNode6, kServer6, 10250), kAllow, FW_REASON_HOST},
  });
}

TEST_F(PolicyVerdictTest, EgressNamedPortsResolvePerDestinationIdentity) {
  RunTable({
      {"web-a on its http port", kFromPod, Tcp(kServer, kWebA, 8080), kAllow, FW_REASON_RULE,
       kWebANamedPort},
      {"web-a on web-b's http port", kFromPod, Tcp(kServer, kWebA, 9090), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"web-b on its http port", kFromPod, Tcp(kServer, kWebB, 9090), kAllow, FW_REASON_RULE,
       kWebBNamedPort},
      {"web-b on web-a's http port", kFromPod, Tcp(kServer, kWebB, 8080), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"egress ipBlock", kFromPod, Udp(kServer, kExternal, 53), kAllow, FW_REASON_RULE,
       kBlockUdp53},
      {"egress outside the ipBlock", kFromPod, Udp(kServer, kWorld, 53), kDeny,
       FW_REASON_DEFAULT_DENY},
      {"egress ingress-only rule kinds skipped", kFromPod, Sctp(kServer, kWorld, 5000), kDeny,
       FW_REASON_DEFAULT_DENY},
  });
}

TEST_F(PolicyVerdictTest, NodeUnselectedAndUnmanagedPodsAreNeverIsolated) {
  RunTable({
      {"node to isolated pod", kToPod, Tcp(kNode, kServer, 10250), kAllow, FW_REASON_HOST},
      {"isolated pod to node", kFromPod, Udp(kServer, kNode, 53), kAllow, FW_REASON_HOST},
      {"pod no policy selects, ingress", kToPod, Tcp(kWorld, kOpen, 1234), kAllow,
       FW_REASON_NOT_ISOLATED},
      {"pod no policy selects, egress", kFromPod, Tcp(kOpen, kWorld, 1234), kAllow,
       FW_REASON_NOT_ISOLATED},
      {"ingress-only isolation, egress", kFromPod, Tcp(kIngressOnly, kWorld, 443), kAllow,
       FW_REASON_NOT_ISOLATED},
      {"ingress-only isolation, no rules: fail closed", kToPod,
       Tcp(kClient, kIngressOnly, 80), kDeny, FW_REASON_DEFAULT_DENY},
      {"no endpoint at to-pod", kToPod, Tcp(kClient, kUnmanaged, 80), kAllow,
       FW_REASON_NO_ENDPOINT},
      {"no endpoint at from-pod", kFromPod, Tcp(kUnmanaged, kServer, 80), kAllow,
       FW_REASON_NO_ENDPOINT},
  });
}

TEST_F(PolicyVerdictTest, DecisionReportsIdentitiesAndDirection) {
  const RunResult allowed = Run(kToPod, Tcp(kClient, kServer, 80).Build());
  EXPECT_EQ(allowed.local_identity, kServerId);
  EXPECT_EQ(allowed.remote_identity, kClientId);
  EXPECT_EQ(allowed.direction, FW_DIR_INGRESS);

  const RunResult external = Run(kFromPod, Udp(kServer, kWorld, 53).Build());
  EXPECT_EQ(external.local_identity, kServerId);
  EXPECT_EQ(external.remote_identity, static_cast<uint32_t>(FW_IDENTITY_WORLD));
  EXPECT_EQ(external.direction, FW_DIR_EGRESS);
  EXPECT_EQ(external.tc_action, 2);  // TC_ACT_SHOT
}

}  // namespace
}  // namespace flatwall::agent::testing
