#include "agent/daemon/verdict_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <iterator>
#include <optional>
#include <string>

#include "abi/datapath_maps.h"
#include "abi/verdict.h"
#include "agent/verdict_names.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent {
namespace {

using nlohmann::json;

constexpr uint32_t kPodA = 300;  // x/a, labels pod=a
constexpr uint32_t kPodB = 301;  // y/b, labels pod=b
constexpr uint32_t kRuleAllowB = 7;

compiler::IpAddress Ip(const std::string& text) {
  absl::StatusOr<compiler::IpAddress> address = compiler::IpAddress::Parse(text);
  EXPECT_TRUE(address.ok()) << text;
  return address.ok() ? *address : compiler::IpAddress();
}

fw_addr Addr(const std::string& text) {
  fw_addr addr{};
  std::memcpy(addr.bytes, Ip(text).bytes().data(), sizeof(addr.bytes));
  return addr;
}

// Pod x/a (10.10.1.5) is local to node-1 and isolated for ingress by x/allow-b and
// x/deny-all; y/b (10.10.2.7) runs on node-2; rule 7 is x/allow-b's first ingress rule.
compiler::MapImage TwoPodImage() {
  compiler::MapImage image;
  image.identities = {
      {kPodA, "x", {{"pod", "a"}}, {{"kubernetes.io/metadata.name", "x"}}},
      {kPodB, "y", {{"pod", "b"}}, {{"kubernetes.io/metadata.name", "y"}}},
  };
  compiler::EndpointInfo a{Ip("10.10.1.5"), "x", "a", "uid-a", {}};
  a.isolating_policies[FW_DIR_INGRESS] = {"x/allow-b", "x/deny-all"};
  image.endpoint_info = {a};
  image.pod_addresses = {{Ip("10.10.1.5"), "x", "a", "uid-a", "node-1"},
                         {Ip("10.10.2.7"), "y", "b", "uid-b", "node-2"}};
  image.rule_table = {{kRuleAllowB, "x", "allow-b", "uid-p", 1, FW_DIR_INGRESS, 0}};
  image.policy_table = {{"x", "allow-b", "uid-p", 1}, {"x", "deny-all", "uid-d", 3}};
  for (const auto& [ip, identity] :
       {std::pair{"10.10.1.5", kPodA}, std::pair{"10.10.2.7", kPodB}}) {
    compiler::IpcacheEntry entry{};
    entry.key.addr = Addr(ip);
    entry.value.identity = identity;
    image.ipcache.push_back(entry);
  }
  return image;
}

// isolated_by of x/a's ingress in TwoPodImage.
const json kIsolatingAB = json::parse(R"([
  {"namespace": "x", "name": "allow-b", "uid": "uid-p", "generation": 1},
  {"namespace": "x", "name": "deny-all", "uid": "uid-d", "generation": 3}
])");

// 1 s after the epoch on the monotonic clock is 2023-11-14T22:13:21Z on the wall clock.
constexpr ClockOffset kOffset{absl::Seconds(1700000000)};

fw_event TcpEvent(const std::string& src, uint16_t sport, const std::string& dst,
                  uint16_t dport) {
  fw_event event{};
  event.timestamp_ns = 1'000'000'123;
  event.saddr = Addr(src);
  event.daddr = Addr(dst);
  event.sport = htons(sport);
  event.dport = htons(dport);
  event.protocol = IPPROTO_TCP;
  event.packet_len = 74;
  event.ifindex = 12;
  return event;
}

TEST(VerdictLogTest, AllowByRuleNamesThePolicyRuleAndBothPods) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  fw_event event = TcpEvent("10.10.2.7", 40000, "10.10.1.5", 80);
  event.direction = FW_DIR_INGRESS;
  event.hook = FW_HOOK_TO_POD;
  event.verdict = FW_VERDICT_ALLOW;
  event.reason = FW_REASON_RULE;
  event.local_identity = kPodA;
  event.remote_identity = kPodB;
  event.rule_id = kRuleAllowB;

  EXPECT_EQ(VerdictEventToJson(event, snapshot, kOffset), json::parse(R"({
    "schema": 3, "time": "2023-11-14T22:13:21.000000123Z", "node": "node-1",
    "verdict": "allow", "reason": "RULE", "direction": "ingress", "hook": "to-pod",
    "protocol": "TCP",
    "src": {"ip": "10.10.2.7", "port": 40000, "kind": "pod", "namespace": "y", "name": "b",
            "uid": "uid-b", "node": "node-2", "labels": {"pod": "b"}},
    "dst": {"ip": "10.10.1.5", "port": 80, "kind": "pod", "namespace": "x", "name": "a",
            "uid": "uid-a", "node": "node-1", "labels": {"pod": "a"}},
    "policy": {"rule_id": 7, "namespace": "x", "name": "allow-b", "uid": "uid-p",
               "generation": 1, "direction": "ingress", "index": 0},
    "identities": {"local": 300, "remote": 301},
    "packets": 1, "bytes": 74, "ifindex": 12
  })"));
}

TEST(VerdictLogTest, DefaultDenyListsThePoliciesIsolatingThePod) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  fw_event event = TcpEvent("10.10.2.7", 40000, "10.10.1.5", 81);
  event.direction = FW_DIR_INGRESS;
  event.hook = FW_HOOK_TO_POD;
  event.verdict = FW_VERDICT_DENY;
  event.reason = FW_REASON_DEFAULT_DENY;
  event.local_identity = kPodA;
  event.remote_identity = kPodB;
  event.suppressed = 4;

  const json line = VerdictEventToJson(event, snapshot, kOffset);
  EXPECT_EQ(line["verdict"], "deny");
  EXPECT_EQ(line["reason"], "DEFAULT_DENY");
  EXPECT_EQ(line["isolated_by"], kIsolatingAB);
  EXPECT_FALSE(line.contains("policy"));
  EXPECT_FALSE(line.contains("suppressed"));  // a record of its own: SuppressedRecord
  EXPECT_EQ(line["src"]["name"], "b");
}

// Every reason of abi/verdict.h, from a crafted event of the step that gives it: named as
// in the ABI, with the verdict, and attributed as far as that step knows.
TEST(VerdictLogTest, EveryReasonIsNamedAndAttributed) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  struct Case {
    int reason;
    int verdict;
    const char* want_reason;
    uint32_t rule_id;                // the event's rule (allowed by a rule)
    const char* want_src_kind;       // "unknown" when nothing was parsed
    const char* want_dst_kind;
    bool want_isolated_by;           // lists the isolating policies
  };
  const Case cases[] = {
      {FW_REASON_NO_ENDPOINT, FW_VERDICT_ALLOW, "NO_ENDPOINT", 0, "pod", "pod", false},
      {FW_REASON_NOT_ISOLATED, FW_VERDICT_ALLOW, "NOT_ISOLATED", 0, "pod", "pod", false},
      {FW_REASON_HOST, FW_VERDICT_ALLOW, "HOST", 0, "pod", "pod", false},
      {FW_REASON_RULE, FW_VERDICT_ALLOW, "RULE", kRuleAllowB, "pod", "pod", false},
      {FW_REASON_ESTABLISHED, FW_VERDICT_ALLOW, "ESTABLISHED", kRuleAllowB, "pod", "pod", false},
      {FW_REASON_RELATED, FW_VERDICT_ALLOW, "RELATED", kRuleAllowB, "pod", "pod", false},
      {FW_REASON_NEIGHBOR_DISCOVERY, FW_VERDICT_ALLOW, "NEIGHBOR_DISCOVERY", 0, "pod", "pod",
       false},
      {FW_REASON_NOT_IP, FW_VERDICT_ALLOW, "NOT_IP", 0, "unknown", "unknown", false},
      {FW_REASON_SERVICE_DEFERRED, FW_VERDICT_ALLOW, "SERVICE_DEFERRED", 0, "pod", "service",
       false},
      {FW_REASON_DEFAULT_DENY, FW_VERDICT_DENY, "DEFAULT_DENY", 0, "pod", "pod", true},
      {FW_REASON_REVOKED, FW_VERDICT_DENY, "REVOKED", 0, "pod", "pod", true},
      {FW_REASON_MALFORMED, FW_VERDICT_DENY, "MALFORMED", 0, "unknown", "unknown", false},
      {FW_REASON_MALFORMED_L4, FW_VERDICT_DENY, "MALFORMED_L4", 0, "pod", "pod", false},
      {FW_REASON_FRAGMENT, FW_VERDICT_DENY, "FRAGMENT", 0, "pod", "pod", false},
      {FW_REASON_EXT_HEADERS, FW_VERDICT_DENY, "EXT_HEADERS", 0, "pod", "pod", false},
      {FW_REASON_SPOOFED, FW_VERDICT_DENY, "SPOOFED", 0, "pod", "pod", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want_reason);
    const bool unparsed = std::string(c.want_src_kind) == "unknown";
    // Service: the destination is a ClusterIP no pod owns.
    const bool service = std::string(c.want_dst_kind) == "service";
    fw_event event = unparsed ? fw_event{}
                              : TcpEvent("10.10.2.7", 40000, service ? "10.96.0.10" : "10.10.1.5",
                                         80);
    event.direction = FW_DIR_INGRESS;
    event.verdict = c.verdict;
    event.reason = c.reason;
    event.rule_id = c.rule_id;

    const json line = VerdictEventToJson(event, snapshot, kOffset);
    EXPECT_EQ(line["reason"], c.want_reason);
    EXPECT_EQ(line["verdict"], c.verdict == FW_VERDICT_ALLOW ? "allow" : "deny");
    EXPECT_EQ(line["src"]["kind"], c.want_src_kind);
    EXPECT_EQ(line["dst"]["kind"], c.want_dst_kind);
    if (c.rule_id != 0) {
      EXPECT_EQ(line["policy"]["name"], "allow-b");
      EXPECT_EQ(line["policy"]["uid"], "uid-p");
    } else {
      EXPECT_FALSE(line.contains("policy"));
    }
    if (c.want_isolated_by) {
      EXPECT_EQ(line["isolated_by"], kIsolatingAB);
    } else {
      EXPECT_FALSE(line.contains("isolated_by"));
    }
    if (!unparsed) {
      EXPECT_EQ(line["src"]["uid"], "uid-b");
    }
  }
  // The table covers the enum: a new reason must be added here (and to the docs).
  int named = 0;
  for (int reason = 0; reason < FW_REASON_COUNT; ++reason) {
    if (ReasonName(reason) != "UNKNOWN" && reason != FW_REASON_NONE) ++named;
  }
  EXPECT_EQ(named, static_cast<int>(std::size(cases)));
}

TEST(VerdictLogTest, TcpFlagsAreNamedAndOtherProtocolsHaveNone) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  fw_event event = TcpEvent("10.10.2.7", 40000, "10.10.1.5", 81);
  event.tcp_flags = 0x12;  // SYN+ACK
  EXPECT_EQ(VerdictEventToJson(event, snapshot, kOffset)["tcp_flags"],
            json::parse(R"(["SYN", "ACK"])"));
  event.tcp_flags = 0;
  EXPECT_FALSE(VerdictEventToJson(event, snapshot, kOffset).contains("tcp_flags"));
  event.protocol = IPPROTO_UDP;
  event.tcp_flags = 0x02;  // not TCP: a stray byte is not shown
  EXPECT_FALSE(VerdictEventToJson(event, snapshot, kOffset).contains("tcp_flags"));
}

TEST(VerdictLogTest, SuppressedEventsBecomeARecordNamingTheEndpointAndCount) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  fw_event event = TcpEvent("10.10.2.7", 40000, "10.10.1.5", 81);
  event.direction = FW_DIR_INGRESS;
  event.verdict = FW_VERDICT_DENY;
  event.reason = FW_REASON_DEFAULT_DENY;
  EXPECT_EQ(SuppressedRecord(event, snapshot, kOffset), std::nullopt);

  event.suppressed = 250;
  EXPECT_EQ(SuppressedRecord(event, snapshot, kOffset), json::parse(R"({
    "schema": 3, "time": "2023-11-14T22:13:21.000000123Z", "node": "node-1",
    "reason": "SUPPRESSED", "count": 250,
    "endpoint": {"ip": "10.10.1.5", "kind": "pod", "namespace": "x", "name": "a",
                 "uid": "uid-a", "node": "node-1", "labels": {"pod": "a"}}
  })"));
}

TEST(VerdictLogTest, SuppressedDropsChargedToNoPodAreUnattributed) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  struct Case {
    const char* name;
    const char* source;
    int reason;
  };
  // A spoofed source is charged to no pod; nor is a local address that is no endpoint.
  for (const Case& c : {Case{"spoofed", "10.10.1.5", FW_REASON_SPOOFED},
                        Case{"not an endpoint", "10.10.2.7", FW_REASON_MALFORMED_L4}}) {
    SCOPED_TRACE(c.name);
    fw_event event = TcpEvent(c.source, 1, "10.10.2.7", 80);
    event.direction = FW_DIR_EGRESS;
    event.reason = c.reason;
    event.suppressed = 3;
    std::optional<json> record = SuppressedRecord(event, snapshot, kOffset);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ((*record)["endpoint"], json::parse(R"({"kind": "unattributed"})"));
    EXPECT_EQ((*record)["count"], 3);
  }
}

TEST(VerdictLogTest, StartupRecordCarriesNodeTimeAndReason) {
  EXPECT_EQ(StartupRecord("node-1", absl::FromUnixSeconds(1700000000)), json::parse(R"({
    "schema": 3, "time": "2023-11-14T22:13:20.000000000Z", "node": "node-1",
    "reason": "STARTUP"})"));
}

TEST(VerdictLogTest, EgressDenyToExternalAddressHasNoPodFieldsOnThatEnd) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  fw_event event = TcpEvent("10.10.1.5", 5353, "8.8.8.8", 53);
  event.protocol = IPPROTO_UDP;
  event.direction = FW_DIR_EGRESS;
  event.hook = FW_HOOK_FROM_POD;
  event.verdict = FW_VERDICT_DENY;
  event.reason = FW_REASON_DEFAULT_DENY;
  event.local_identity = kPodA;
  event.remote_identity = FW_IDENTITY_WORLD;
  event.cidr_class = 3;

  const json line = VerdictEventToJson(event, snapshot, kOffset);
  EXPECT_EQ(line["protocol"], "UDP");
  EXPECT_EQ(line["direction"], "egress");
  EXPECT_EQ(line["src"]["name"], "a");
  EXPECT_EQ(line["dst"], json::parse(R"({"ip": "8.8.8.8", "port": 53, "kind": "external"})"));
  EXPECT_EQ(line["cidr_class"], 3);
  // Pod a is isolated for ingress only: no policy isolates its egress in this snapshot.
  EXPECT_EQ(line["isolated_by"], json::array());
}

TEST(VerdictLogTest, UnknownIdentitiesAndRuleKeepTheNumbersWithoutNames) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  fw_event event = TcpEvent("10.10.9.9", 1234, "10.10.9.8", 443);
  event.direction = FW_DIR_INGRESS;
  event.verdict = FW_VERDICT_ALLOW;
  event.reason = FW_REASON_RULE;
  event.local_identity = 999;
  event.remote_identity = 998;
  event.rule_id = 42;

  const json line = VerdictEventToJson(event, snapshot, kOffset);
  EXPECT_EQ(line["src"], json::parse(R"({"ip": "10.10.9.9", "port": 1234, "kind": "pod"})"));
  EXPECT_EQ(line["dst"], json::parse(R"({"ip": "10.10.9.8", "port": 443, "kind": "pod"})"));
  EXPECT_EQ(line["policy"], json::parse(R"({"rule_id": 42})"));
  EXPECT_EQ(line["identities"], json::parse(R"({"local": 999, "remote": 998})"));
}

TEST(VerdictLogTest, PeerEndsAreClassifiedByIdentityAndAddress) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  struct Case {
    const char* name;
    const char* remote_ip;
    uint32_t remote_identity;
    const char* want_kind;
  };
  for (const Case& c : {Case{"node", "10.10.1.1", FW_IDENTITY_HOST, "node"},
                        Case{"world", "1.1.1.1", FW_IDENTITY_WORLD, "external"},
                        Case{"no lookup, known pod", "10.10.2.7", 0, "pod"},
                        Case{"no lookup, unknown address", "192.0.2.1", 0, "external"},
                        Case{"unparsed", "::", 0, "unknown"}}) {
    SCOPED_TRACE(c.name);
    fw_event event = TcpEvent(c.remote_ip, 1000, "10.10.1.5", 80);
    event.direction = FW_DIR_INGRESS;
    event.remote_identity = c.remote_identity;
    EXPECT_EQ(VerdictEventToJson(event, snapshot, kOffset)["src"]["kind"], c.want_kind);
  }
}

TEST(VerdictLogTest, EventWithoutPolicyLookupTakesLabelsFromTheIpCache) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  fw_event event = TcpEvent("10.10.1.5", 40000, "10.10.2.7", 80);
  event.direction = FW_DIR_EGRESS;
  event.verdict = FW_VERDICT_ALLOW;
  event.reason = FW_REASON_NOT_ISOLATED;

  const json line = VerdictEventToJson(event, snapshot, kOffset);
  EXPECT_EQ(line["src"]["labels"], json::parse(R"({"pod": "a"})"));
  EXPECT_EQ(line["dst"]["labels"], json::parse(R"({"pod": "b"})"));
  EXPECT_EQ(line["identities"], json::parse(R"({"local": 0, "remote": 0})"));
}

TEST(VerdictLogTest, IcmpRecordsCarryTypeCodeAndTheEchoIdentifierButNoPorts) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  constexpr uint8_t kUnread = FW_EVENT_ICMP_UNREAD;
  struct Case {
    const char* name;
    const char* src;
    const char* dst;
    uint8_t protocol, type, code;
    uint16_t echo_id;  // in both ports, as the datapath puts it
    const char* want_icmp;  // nullptr: no "icmp" field
  };
  const Case cases[] = {
      {"ICMPv6 echo request", "fd00::5", "fd00::6", IPPROTO_ICMPV6, 128, 0, 77,
       R"({"type": 128, "code": 0, "echo_id": 77})"},
      {"ICMPv6 echo reply", "fd00::6", "fd00::5", IPPROTO_ICMPV6, 129, 0, 77,
       R"({"type": 129, "code": 0, "echo_id": 77})"},
      {"echo request", "10.10.2.7", "10.10.1.5", IPPROTO_ICMP, 8, 0, 78,
       R"({"type": 8, "code": 0, "echo_id": 78})"},
      {"echo reply with identifier 0", "10.10.2.7", "10.10.1.5", IPPROTO_ICMP, 0, 0, 0,
       R"({"type": 0, "code": 0, "echo_id": 0})"},
      {"port unreachable", "10.10.2.7", "10.10.1.5", IPPROTO_ICMP, 3, 3, 0,
       R"({"type": 3, "code": 3})"},
      {"ICMPv6 packet too big", "fd00::5", "fd00::6", IPPROTO_ICMPV6, 2, 0, 0,
       R"({"type": 2, "code": 0})"},
      {"header not read", "10.10.2.7", "10.10.1.5", IPPROTO_ICMP, kUnread, kUnread, 0, nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    fw_event event{};
    event.saddr = Addr(c.src);
    event.daddr = Addr(c.dst);
    event.sport = htons(c.echo_id);
    event.dport = htons(c.echo_id);
    event.protocol = c.protocol;
    event.icmp_type = c.type;
    event.icmp_code = c.code;

    const json line = VerdictEventToJson(event, snapshot, kOffset);
    EXPECT_EQ(line["protocol"], c.protocol == IPPROTO_ICMP ? "ICMP" : "ICMPv6");
    if (c.want_icmp != nullptr) {
      EXPECT_EQ(line["icmp"], json::parse(c.want_icmp));
    } else {
      EXPECT_FALSE(line.contains("icmp"));
    }
    EXPECT_EQ(line["src"]["ip"], c.src);
    EXPECT_FALSE(line["src"].contains("port"));
    EXPECT_FALSE(line["dst"].contains("port"));
  }
}

TEST(VerdictLogTest, NonIcmpRecordsHaveNoIcmpFieldWhateverTheEventsIcmpBytes) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  fw_event event = TcpEvent("10.10.2.7", 40000, "10.10.1.5", 80);
  event.icmp_type = 8;  // stray bytes of a non-ICMP event are not shown
  EXPECT_FALSE(VerdictEventToJson(event, snapshot, kOffset).contains("icmp"));
}

TEST(VerdictLogTest, IsolatingPolicyUnknownToTheSnapshotIsNamedWithoutUidOrGeneration) {
  compiler::MapImage image = TwoPodImage();
  image.policy_table = {{"x", "deny-all", "", 5}};  // x/allow-b unknown; deny-all has no uid
  const VerdictSnapshot snapshot(image, "node-1");
  fw_event event = TcpEvent("10.10.2.7", 40000, "10.10.1.5", 81);
  event.direction = FW_DIR_INGRESS;
  event.verdict = FW_VERDICT_DENY;
  event.reason = FW_REASON_DEFAULT_DENY;

  EXPECT_EQ(VerdictEventToJson(event, snapshot, kOffset)["isolated_by"], json::parse(R"([
    {"namespace": "x", "name": "allow-b"},
    {"namespace": "x", "name": "deny-all", "generation": 5}
  ])"));
}

TEST(VerdictLogTest, LineSerializesToOneLineThatParsesBack) {
  const VerdictSnapshot snapshot(TwoPodImage(), "node-1");
  fw_event event = TcpEvent("10.10.2.7", 40000, "10.10.1.5", 80);
  event.reason = FW_REASON_DEFAULT_DENY;
  const json line = VerdictEventToJson(event, snapshot, kOffset);
  const std::string text = line.dump();
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(json::parse(text), line);
}

TEST(VerdictLogTest, MonotonicTimestampsBecomeCurrentWallTime) {
  absl::StatusOr<ClockOffset> offset = ReadClockOffset();
  FW_ASSERT_OK(offset);
  timespec now{};
  ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &now), 0);
  const uint64_t monotonic_ns = absl::ToInt64Nanoseconds(absl::DurationFromTimespec(now));
  EXPECT_LT(absl::AbsDuration(MonotonicToWall(monotonic_ns, *offset) - absl::Now()),
            absl::Milliseconds(100));
}

TEST(VerdictLogTest, FormatsRfc3339WithNanosecondsInUtc) {
  EXPECT_EQ(FormatRfc3339Nanos(absl::FromUnixNanos(1700000000'000000005)),
            "2023-11-14T22:13:20.000000005Z");
  EXPECT_EQ(FormatRfc3339Nanos(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00.000000000Z");
}

}  // namespace
}  // namespace flatwall::agent
