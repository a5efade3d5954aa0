// The lookup algorithm on hand-written tables: every step and reason, independent of the
// compiler, so a compiler bug cannot hide a lookup bug (compiler_test covers both together).
#include "policy-compiler/policy_lookup.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/model_builders.h"
#include "tests/testing/rule_shapes.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::Cidr;
using ::flatwall::testing::Ip;

constexpr uint32_t kRuleset = 77;
constexpr uint32_t kLocal = 1000;
constexpr uint32_t kPeer = 2000;
constexpr uint32_t kStranger = 3000;
constexpr uint32_t kClass10 = 10;    // 10.0.0.0/8
constexpr uint32_t kClass10_1 = 11;  // 10.1.0.0/16
constexpr uint32_t kClassV6 = 60;    // 2001:db8::/32

fw_addr Abi(const std::string& ip) {
  fw_addr out;
  std::memcpy(out.bytes, Ip(ip).bytes().data(), 16);
  return out;
}

RuleEntry MakeRule(fw_direction direction, fw_remote_kind kind, uint32_t remote, uint8_t protocol,
                   int port_bits, uint16_t port, uint32_t rule_id) {
  RuleEntry entry{};
  entry.key.ruleset = kRuleset;
  entry.key.direction = direction;
  entry.key.remote_kind = kind;
  entry.key.remote = remote;
  if (protocol == 0) {
    entry.key.prefixlen = FW_RULE_BITS_ANY_PROTOCOL;
  } else {
    entry.key.protocol = protocol;
    entry.key.prefixlen = FW_RULE_BITS_ANY_PORT + port_bits;
    entry.key.port = htons(port);
  }
  entry.value.rule_id = rule_id;
  entry.value.action = FW_ACTION_ALLOW;
  return entry;
}

template <typename Entry>
void SortTable(std::vector<Entry>* table) {
  std::sort(table->begin(), table->end(),
            [](const Entry& a, const Entry& b) { return AbiLess(a.key, b.key); });
}

// 10.1.0.1: isolated both ways; ingress from identity kPeer on TCP 80-83 (rule 1), from class
// 10.1/16 on UDP (rule 2); egress to anyone on TCP 443 (rule 3) and to 2001:db8::/32 on
// anything (rule 4). 10.1.0.2: endpoint, not isolated. 10.1.0.9: the node (HOST).
MapImage HandWrittenImage() {
  MapImage image;
  fw_endpoint_value isolated{kLocal, kRuleset, FW_EP_ISOLATED_INGRESS | FW_EP_ISOLATED_EGRESS,
                             {FW_RULES_HAVE_IDENTITY | FW_RULES_HAVE_CIDR,
                              FW_RULES_HAVE_ANY | FW_RULES_HAVE_CIDR},
                             0};
  fw_endpoint_value open{kLocal + 1, 0, 0, {0, 0}, 0};
  image.endpoints = {{{Abi("10.1.0.1")}, isolated}, {{Abi("10.1.0.2")}, open},
                     {{Abi("2001:db8:1::1")}, isolated}};
  SortTable(&image.endpoints);
  image.ipcache = {{{Abi("10.1.0.1")}, {kLocal, kClass10_1}},
                   {{Abi("10.1.0.2")}, {kLocal + 1, kClass10_1}},
                   {{Abi("10.1.0.5")}, {kPeer, kClass10_1}},
                   {{Abi("10.2.0.5")}, {kStranger, kClass10}},
                   {{Abi("10.1.0.9")}, {FW_IDENTITY_HOST, 0}}};
  SortTable(&image.ipcache);
  image.cidrs = {{{104, Abi("10.0.0.0")}, {kClass10}},
                 {{112, Abi("10.1.0.0")}, {kClass10_1}},
                 {{32, Abi("2001:db8::")}, {kClassV6}}};
  SortTable(&image.cidrs);
  image.rules = {
      MakeRule(FW_DIR_INGRESS, FW_REMOTE_IDENTITY, kPeer, IPPROTO_TCP, 14, 80, 1),
      MakeRule(FW_DIR_INGRESS, FW_REMOTE_CIDR, kClass10_1, IPPROTO_UDP, 0, 0, 2),
      MakeRule(FW_DIR_EGRESS, FW_REMOTE_ANY, 0, IPPROTO_TCP, 16, 443, 3),
      MakeRule(FW_DIR_EGRESS, FW_REMOTE_CIDR, kClassV6, 0, 0, 0, 4),
      // Present in the table but skipped: the endpoint's egress kinds lack IDENTITY.
      MakeRule(FW_DIR_EGRESS, FW_REMOTE_IDENTITY, kPeer, 0, 0, 0, 5),
  };
  SortTable(&image.rules);
  ::flatwall::testing::AddRuleShapes(image.rules, image.endpoints);
  return image;
}

struct LookupCase {
  std::string name;
  FlowQuery query;
  fw_verdict verdict;
  fw_reason reason;
  uint32_t rule_id;
  uint32_t remote_identity;
  uint32_t cidr_class;
};

TEST(PolicyLookupTest, EachStepDecidesWithItsReason) {
  const MapImage image = HandWrittenImage();
  const uint8_t tcp = IPPROTO_TCP;
  const uint8_t udp = IPPROTO_UDP;
  const std::vector<LookupCase> cases = {
      {"Step1NoEndpoint", {Ip("10.9.9.9"), Ip("10.1.0.5"), FW_DIR_INGRESS, tcp, 80},
       FW_VERDICT_ALLOW, FW_REASON_NO_ENDPOINT, 0, 0, 0},
      {"Step3HostAlwaysAllowed", {Ip("10.1.0.1"), Ip("10.1.0.9"), FW_DIR_INGRESS, tcp, 9},
       FW_VERDICT_ALLOW, FW_REASON_HOST, 0, FW_IDENTITY_HOST, 0},
      {"Step4NotIsolated", {Ip("10.1.0.2"), Ip("10.2.0.5"), FW_DIR_INGRESS, tcp, 9},
       FW_VERDICT_ALLOW, FW_REASON_NOT_ISOLATED, 0, kStranger, kClass10},
      {"Step5IdentityRulePortPrefixStart", {Ip("10.1.0.1"), Ip("10.1.0.5"), FW_DIR_INGRESS, tcp, 80},
       FW_VERDICT_ALLOW, FW_REASON_RULE, 1, kPeer, kClass10_1},
      {"Step5IdentityRulePortPrefixEnd", {Ip("10.1.0.1"), Ip("10.1.0.5"), FW_DIR_INGRESS, tcp, 83},
       FW_VERDICT_ALLOW, FW_REASON_RULE, 1, kPeer, kClass10_1},
      {"Step6PortPastThePrefix", {Ip("10.1.0.1"), Ip("10.1.0.5"), FW_DIR_INGRESS, tcp, 84},
       FW_VERDICT_DENY, FW_REASON_DEFAULT_DENY, 0, kPeer, kClass10_1},
      {"Step5CidrRuleForPodAddressClass", {Ip("10.1.0.1"), Ip("10.1.0.5"), FW_DIR_INGRESS, udp, 5353},
       FW_VERDICT_ALLOW, FW_REASON_RULE, 2, kPeer, kClass10_1},
      {"Step2WorldGetsLongestPrefixClass", {Ip("10.1.0.1"), Ip("10.1.7.7"), FW_DIR_INGRESS, udp, 53},
       FW_VERDICT_ALLOW, FW_REASON_RULE, 2, FW_IDENTITY_WORLD, kClass10_1},
      {"Step6WorldOutsideTheClass", {Ip("10.1.0.1"), Ip("10.3.0.1"), FW_DIR_INGRESS, udp, 53},
       FW_VERDICT_DENY, FW_REASON_DEFAULT_DENY, 0, FW_IDENTITY_WORLD, kClass10},
      {"Step6NoPrefixAtAll", {Ip("10.1.0.1"), Ip("192.168.0.1"), FW_DIR_INGRESS, udp, 53},
       FW_VERDICT_DENY, FW_REASON_DEFAULT_DENY, 0, FW_IDENTITY_WORLD, 0},
      {"Step5AnyRemote", {Ip("10.1.0.1"), Ip("192.168.0.1"), FW_DIR_EGRESS, tcp, 443},
       FW_VERDICT_ALLOW, FW_REASON_RULE, 3, FW_IDENTITY_WORLD, 0},
      {"Step5SkipsKindsTheEndpointLacks", {Ip("10.1.0.1"), Ip("10.1.0.5"), FW_DIR_EGRESS, tcp, 80},
       FW_VERDICT_DENY, FW_REASON_DEFAULT_DENY, 0, kPeer, kClass10_1},
      {"Step5AnyProtocolRuleMatchesIcmpv6", {Ip("2001:db8:1::1"), Ip("2001:db8::7"), FW_DIR_EGRESS, IPPROTO_ICMPV6, 0},
       FW_VERDICT_ALLOW, FW_REASON_RULE, 4, FW_IDENTITY_WORLD, kClassV6},
  };
  for (const LookupCase& test : cases) {
    SCOPED_TRACE(test.name);
    PolicyVerdict verdict = LookupPolicy(image, test.query);
    EXPECT_EQ(verdict.verdict, test.verdict);
    EXPECT_EQ(verdict.reason, test.reason);
    EXPECT_EQ(verdict.rule_id, test.rule_id);
    EXPECT_EQ(verdict.remote_identity, test.remote_identity);
    EXPECT_EQ(verdict.cidr_class, test.cidr_class);
  }
}

TEST(PolicyLookupTest, CheckFlowNeedsBothEndsAndReportsEach) {
  const MapImage image = HandWrittenImage();
  // 10.1.0.1 -> 10.1.0.2 TCP 443: egress rule 3 at the source, destination not isolated.
  FlowVerdict allowed = CheckFlow(image, Ip("10.1.0.1"), Ip("10.1.0.2"), IPPROTO_TCP, 443);
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.egress.reason, FW_REASON_RULE);
  EXPECT_EQ(allowed.egress.rule_id, 3u);
  EXPECT_EQ(allowed.ingress.reason, FW_REASON_NOT_ISOLATED);
  EXPECT_EQ(allowed.ingress.local_identity, kLocal + 1);
  // 10.1.0.2 -> 10.1.0.1 TCP 443: the destination denies.
  FlowVerdict denied = CheckFlow(image, Ip("10.1.0.2"), Ip("10.1.0.1"), IPPROTO_TCP, 443);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.egress.reason, FW_REASON_NOT_ISOLATED);
  EXPECT_EQ(denied.ingress.reason, FW_REASON_DEFAULT_DENY);
  // Neither end an endpoint.
  FlowVerdict outside = CheckFlow(image, Ip("8.8.8.8"), Ip("1.1.1.1"), IPPROTO_UDP, 53);
  EXPECT_TRUE(outside.allowed);
  EXPECT_EQ(outside.egress.reason, FW_REASON_NO_ENDPOINT);
  EXPECT_EQ(outside.ingress.reason, FW_REASON_NO_ENDPOINT);
}

TEST(PolicyLookupTest, EmptyImageAllowsEverything) {
  PolicyVerdict verdict = LookupPolicy(MapImage{}, {Ip("10.0.0.1"), Ip("10.0.0.2"), FW_DIR_EGRESS, IPPROTO_TCP, 1});
  EXPECT_EQ(verdict.verdict, FW_VERDICT_ALLOW);
  EXPECT_EQ(verdict.reason, FW_REASON_NO_ENDPOINT);
}

}  // namespace
}  // namespace flatwall::compiler
