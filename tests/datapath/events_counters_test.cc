// Counters (per endpoint, direction and reason; node-wide by reason; per flow) and verdict
// events (content, when they are emitted, the per-endpoint rate limit, a full ring).
#include <netinet/in.h>
#include <poll.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "agent/datapath_stats.h"
#include "agent/event_reader.h"
#include "agent/verdict_names.h"
#include "gtest/gtest.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/datapath/scenario.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using namespace scenario;  // NOLINT: the scenario's names are the tests' vocabulary

std::vector<uint8_t> Tcp(const char* from, const char* to, uint16_t sport, uint16_t dport,
                         uint8_t flags = PacketBuilder::kSyn) {
  return PacketBuilder(Ip(from), Ip(to)).Tcp(sport, dport, flags).Build();
}

class EventsCountersTest : public DatapathTest {
 protected:
  void SetUp() override {
    DatapathTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Seed(StandardTables());
  }

  fw_counter_value Counter(const compiler::IpAddress& endpoint, fw_direction direction,
                           fw_reason reason) {
    absl::StatusOr<fw_counter_value> value =
        ReadEndpointCounter(*datapath_, endpoint, direction, reason);
    EXPECT_THAT(value, ::flatwall::testing::IsOk());
    return value.ok() ? *value : fw_counter_value{};
  }
  uint64_t StatPackets(uint32_t index) {
    absl::StatusOr<fw_counter_value> value = ReadStat(*datapath_, index);
    EXPECT_THAT(value, ::flatwall::testing::IsOk());
    return value.ok() ? value->packets : 0;
  }
  std::unique_ptr<EventReader> StartReader() {
    absl::StatusOr<std::unique_ptr<EventReader>> reader = EventReader::Start(*datapath_);
    EXPECT_THAT(reader, ::flatwall::testing::IsOk());
    return reader.ok() ? std::move(*reader) : nullptr;
  }
  std::vector<fw_event> Drain(EventReader& reader) {
    absl::StatusOr<std::vector<fw_event>> events = reader.Poll(0);
    EXPECT_THAT(events, ::flatwall::testing::IsOk());
    return events.ok() ? *events : std::vector<fw_event>{};
  }
  void SetRate(uint32_t interval_ns, uint32_t burst) {
    fw_config config = Config();
    config.event_interval_ns = interval_ns;
    config.event_burst = burst;
    SetConfig(config);
  }
};

TEST_F(EventsCountersTest, EndpointCountersByDirectionAndReasonSkipTheEstablishedPath) {
  const std::vector<uint8_t> denied = Tcp(kClient, kServer, 40000, 81);
  const std::vector<uint8_t> allowed = Tcp(kClient, kServer, 40000, 80);
  fw_config config = Config();
  config.flags |= FW_CFG_CT_ACCOUNTING;
  SetConfig(config);
  Run(FW_HOOK_TO_POD, denied);
  Run(FW_HOOK_TO_POD, denied);
  Run(FW_HOOK_TO_POD, allowed);
  Run(FW_HOOK_TO_POD, allowed);  // established

  fw_counter_value deny = Counter(Ip(kServer), FW_DIR_INGRESS, FW_REASON_DEFAULT_DENY);
  EXPECT_EQ(deny.packets, 2u);
  EXPECT_EQ(deny.bytes, 2 * denied.size());
  EXPECT_EQ(Counter(Ip(kServer), FW_DIR_INGRESS, FW_REASON_RULE).packets, 1u);
  EXPECT_EQ(Counter(Ip(kServer), FW_DIR_INGRESS, FW_REASON_ESTABLISHED).packets, 0u);
  EXPECT_EQ(Counter(Ip(kServer), FW_DIR_EGRESS, FW_REASON_DEFAULT_DENY).packets, 0u);
  // The established packet is counted in its flow (with per-flow accounting on).
  ASSERT_EQ(Flows().size(), 1u);
  EXPECT_EQ(Flows()[0].second.packets[FW_CT_ORIGINAL], 2u);
}

TEST_F(EventsCountersTest, DropsOfAddressesThatAreNotEndpointsCountUnderTheZeroAddress) {
  std::vector<uint8_t> bad_tcp = Tcp(kClient, kUnmanaged, 40000, 80);
  bad_tcp[14 + 20 + 12] = 0x40;  // data offset 4
  Run(FW_HOOK_TO_POD, bad_tcp);
  Run(FW_HOOK_TO_POD, Tcp(kClient, kUnmanaged, 40000, 80));  // allowed: NO_ENDPOINT
  std::vector<uint8_t> bad_to_server = Tcp(kClient, kServer, 40000, 80);
  bad_to_server[14 + 20 + 12] = 0x40;
  Run(FW_HOOK_TO_POD, bad_to_server);

  EXPECT_EQ(Counter(compiler::IpAddress(), FW_DIR_INGRESS, FW_REASON_MALFORMED_L4).packets, 1u);
  EXPECT_EQ(Counter(Ip(kUnmanaged), FW_DIR_INGRESS, FW_REASON_MALFORMED_L4).packets, 0u);
  EXPECT_EQ(Counter(Ip(kUnmanaged), FW_DIR_INGRESS, FW_REASON_NO_ENDPOINT).packets, 0u);
  EXPECT_EQ(Counter(Ip(kServer), FW_DIR_INGRESS, FW_REASON_MALFORMED_L4).packets, 1u);
}

TEST_F(EventsCountersTest, NodeWideStatsCountEveryPacketByReason) {
  const std::vector<fw_reason> reasons = {FW_REASON_RULE, FW_REASON_ESTABLISHED,
                                          FW_REASON_DEFAULT_DENY, FW_REASON_NOT_IP,
                                          FW_REASON_NO_ENDPOINT};
  std::vector<uint64_t> before;
  for (const fw_reason reason : reasons) before.push_back(StatPackets(reason));
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 80));
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 80), RunOptions{.repeat = 3});
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 81));
  Run(FW_HOOK_FROM_POD, PacketBuilder::Arp());
  Run(FW_HOOK_FROM_POD, Tcp(kUnmanaged, kServer, 40000, 80));
  const std::vector<uint64_t> expected_delta = {1, 3, 1, 1, 1};
  for (size_t i = 0; i < reasons.size(); ++i) {
    SCOPED_TRACE(ReasonName(reasons[i]));
    EXPECT_EQ(StatPackets(reasons[i]) - before[i], expected_delta[i]);
  }
}

TEST_F(EventsCountersTest, NoEventsAreWrittenWhileNoReaderIsAttached) {
  EXPECT_EQ(Config().flags & FW_CFG_EVENTS, 0u);
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 81));
  std::unique_ptr<EventReader> reader = StartReader();
  ASSERT_NE(reader, nullptr);
  EXPECT_NE(Config().flags & FW_CFG_EVENTS, 0u);
  EXPECT_TRUE(Drain(*reader).empty());
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 81));
  EXPECT_EQ(Drain(*reader).size(), 1u);
  reader.reset();
  EXPECT_EQ(Config().flags & FW_CFG_EVENTS, 0u);
}

TEST_F(EventsCountersTest, DenyEventCarriesTheDecision) {
  std::unique_ptr<EventReader> reader = StartReader();
  ASSERT_NE(reader, nullptr);
  const std::vector<uint8_t> frame = Tcp(kExcepted, kServer, 40000, 443);
  Run(FW_HOOK_TO_POD, frame);
  const std::vector<fw_event> events = Drain(*reader);
  ASSERT_EQ(events.size(), 1u);
  const fw_event& event = events[0];
  EXPECT_TRUE(compiler::AbiEqual(event.saddr, AbiAddr(kExcepted)));
  EXPECT_TRUE(compiler::AbiEqual(event.daddr, AbiAddr(kServer)));
  EXPECT_EQ(ntohs(event.sport), 40000);
  EXPECT_EQ(ntohs(event.dport), 443);
  EXPECT_EQ(event.protocol, IPPROTO_TCP);
  EXPECT_EQ(event.direction, FW_DIR_INGRESS);
  EXPECT_EQ(event.verdict, FW_VERDICT_DENY);
  EXPECT_EQ(ReasonName(event.reason), "DEFAULT_DENY");
  EXPECT_EQ(event.local_identity, kServerId);
  EXPECT_EQ(event.remote_identity, static_cast<uint32_t>(FW_IDENTITY_WORLD));
  EXPECT_EQ(event.cidr_class, kExceptClass);
  EXPECT_EQ(event.rule_id, 0u);
  EXPECT_EQ(event.hook, FW_HOOK_TO_POD);
  EXPECT_EQ(event.tcp_flags, PacketBuilder::kSyn);
  EXPECT_EQ(event.packet_len, frame.size());
  EXPECT_EQ(event.suppressed, 0u);
  EXPECT_GT(event.timestamp_ns, 0u);
}

TEST_F(EventsCountersTest, DenyEventCarriesIcmpTypeAndCodeWhereTheHeaderWasRead) {
  // The server admits no ICMP from the client: each of these is denied. The unreachable
  // quotes a UDP flow the server never sent, so it is no RELATED error.
  const std::vector<uint8_t> quoted =
      PacketBuilder(Ip(kServer), Ip(kClient)).Udp(5353, 53).BuildDatagram();
  auto icmp = [](const char* from, const char* to) { return PacketBuilder(Ip(from), Ip(to)); };
  constexpr uint8_t kUnread = FW_EVENT_ICMP_UNREAD;
  struct Case {
    const char* name;
    std::vector<uint8_t> frame;
    const char* reason;
    uint8_t protocol, type, code;
    uint16_t sport;  // ICMP: the echo identifier
  };
  const Case cases[] = {
      {"echo request", icmp(kClient, kServer).IcmpEcho(77).Build(), "DEFAULT_DENY", IPPROTO_ICMP,
       8, 0, 77},
      {"ICMPv6 echo request", icmp(kClient6, kServer6).IcmpEcho(78).Build(), "DEFAULT_DENY",
       IPPROTO_ICMPV6, 128, 0, 78},
      {"unrelated port unreachable", icmp(kClient, kServer).IcmpError(3, 1, quoted).Build(),
       "DEFAULT_DENY", IPPROTO_ICMP, 3, 1, 0},
      {"timestamp request",
       icmp(kClient, kServer).Icmp(13, 0, std::vector<uint8_t>(16)).Build(), "DEFAULT_DENY",
       IPPROTO_ICMP, 13, 0, 0},
      {"first fragment of an echo request",
       icmp(kClient, kServer).IcmpEcho(79).Payload(32).Fragment(9, 0, true).Build(),
       "DEFAULT_DENY", IPPROTO_ICMP, 8, 0, 79},
      // Takes the first fragment's verdict; it has no ICMP header, and 0/0 would say "reply".
      {"later fragment of that echo request",
       icmp(kClient, kServer).IcmpEcho(79).Payload(32).Fragment(9, 40, false).Build(),
       "DEFAULT_DENY", IPPROTO_ICMP, kUnread, kUnread, 0},
      {"later fragment of an unseen datagram",
       icmp(kClient, kServer).IcmpEcho(80).Payload(32).Fragment(10, 40, false).Build(),
       "FRAGMENT", IPPROTO_ICMP, kUnread, kUnread, 0},
      {"truncated ICMP header",
       icmp(kClient, kServer).Transport(IPPROTO_ICMP, {8, 0, 0, 0}).Build(), "MALFORMED_L4",
       IPPROTO_ICMP, kUnread, kUnread, 0},
      {"UDP", icmp(kClient, kServer).Udp(1024, 1024).Build(), "DEFAULT_DENY", IPPROTO_UDP, 0, 0,
       1024},
  };
  std::unique_ptr<EventReader> reader = StartReader();
  ASSERT_NE(reader, nullptr);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Run(FW_HOOK_TO_POD, c.frame);
    const std::vector<fw_event> events = Drain(*reader);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(std::string(ReasonName(events[0].reason)), c.reason);
    EXPECT_EQ(events[0].protocol, c.protocol);
    EXPECT_EQ(events[0].icmp_type, c.type);
    EXPECT_EQ(events[0].icmp_code, c.code);
    EXPECT_EQ(ntohs(events[0].sport), c.sport);
    EXPECT_EQ(events[0].tcp_flags, 0);
  }
}

TEST_F(EventsCountersTest, AllowedNewFlowsAreReportedOnlyWhenAsked) {
  std::unique_ptr<EventReader> reader = StartReader();
  ASSERT_NE(reader, nullptr);
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 80));
  EXPECT_TRUE(Drain(*reader).empty());

  // The endpoint asks for it (a policy annotation in the compiler's hands).
  compiler::EndpointEntry server = StandardTables().endpoints[0];
  server.value.flags |= FW_EP_LOG_ALLOWED;
  FW_ASSERT_OK(writer_->Upsert(std::vector<compiler::EndpointEntry>{server}));
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40001, 80));
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40001, 80, PacketBuilder::kAck));  // established
  std::vector<fw_event> events = Drain(*reader);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].verdict, FW_VERDICT_ALLOW);
  EXPECT_EQ(events[0].rule_id, kClientTcp80);

  // Or the node-wide switch does.
  Run(FW_HOOK_FROM_POD, Tcp(kOpen, kWorld, 40002, 443));
  EXPECT_TRUE(Drain(*reader).empty());
  fw_config config = Config();
  config.flags |= FW_CFG_LOG_ALLOWED;
  SetConfig(config);
  Run(FW_HOOK_FROM_POD, Tcp(kOpen, kWorld, 40003, 443));
  events = Drain(*reader);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(ReasonName(events[0].reason), "NOT_ISOLATED");
}

TEST_F(EventsCountersTest, RateLimitIsPerEndpointAndReportsWhatItSuppressed) {
  std::unique_ptr<EventReader> reader = StartReader();
  ASSERT_NE(reader, nullptr);
  SetRate(/*interval_ns=*/50'000'000, /*burst=*/3);
  const uint64_t suppressed_before = StatPackets(FW_STAT_EVENTS_SUPPRESSED);

  // Ten drops in a few microseconds: a burst of three events gets through.
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 81), RunOptions{.repeat = 10});
  EXPECT_EQ(Drain(*reader).size(), 3u);
  EXPECT_EQ(StatPackets(FW_STAT_EVENTS_SUPPRESSED) - suppressed_before, 7u);

  // Another endpoint has its own bucket.
  Run(FW_HOOK_TO_POD, Tcp(kClient, kIngressOnly, 40000, 80));
  EXPECT_EQ(Drain(*reader).size(), 1u);

  // One interval later there is a token again; the event says what was dropped before it.
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 81));
  const std::vector<fw_event> events = Drain(*reader);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].suppressed, 7u);
}

TEST_F(EventsCountersTest, FullRingIsCountedAndReportedByTheNextEvent) {
  std::unique_ptr<EventReader> reader = StartReader();
  ASSERT_NE(reader, nullptr);
  SetRate(/*interval_ns=*/1, /*burst=*/1'000'000);
  const uint64_t full_before = StatPackets(FW_STAT_EVENTS_RING_FULL);

  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 81), RunOptions{.repeat = 20000});
  const uint64_t lost = StatPackets(FW_STAT_EVENTS_RING_FULL) - full_before;
  const std::vector<fw_event> delivered = Drain(*reader);
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(delivered.size() + lost, 20000u);

  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 81));
  const std::vector<fw_event> next = Drain(*reader);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].suppressed, lost);
}

// Whether the reader's descriptor signals within `wait_ms`: the datapath woke it.
bool Signalled(const EventReader& reader, int wait_ms) {
  pollfd fd{reader.fd(), POLLIN, 0};
  return poll(&fd, 1, wait_ms) > 0 && (fd.revents & POLLIN);
}

TEST_F(EventsCountersTest, EventWrittenWithoutWakeUpIsDeliveredWithinTheDrainInterval) {
  std::unique_ptr<EventReader> reader = StartReader();
  ASSERT_NE(reader, nullptr);
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 81));
  EXPECT_FALSE(Signalled(*reader, 20));

  // A reader that waits for a wake-up no longer than the drain interval gets it anyway.
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<fw_event>> events = reader->Poll(kEventDrainIntervalMs);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_THAT(events, ::flatwall::testing::IsOk());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(ReasonName((*events)[0].reason), "DEFAULT_DENY");
  EXPECT_LT(waited, std::chrono::milliseconds(kEventDrainIntervalMs + 100));
}

TEST_F(EventsCountersTest, BacklogOfOneSixteenthOfTheRingWakesTheReader) {
  // FW_EVENT_WAKEUP_BYTES in datapath/bpf/lib/events.h; each record has an 8-byte header
  // and is padded to 8 bytes.
  constexpr size_t kWakeUpBytes = FW_EVENTS_RING_BYTES / 16;
  constexpr size_t kRecordBytes = 8 + (sizeof(fw_event) + 7) / 8 * 8;
  constexpr uint32_t kBelow = kWakeUpBytes / kRecordBytes - 1;
  std::unique_ptr<EventReader> reader = StartReader();
  ASSERT_NE(reader, nullptr);
  SetRate(/*interval_ns=*/1, /*burst=*/1'000'000);

  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 81), RunOptions{.repeat = kBelow});
  EXPECT_FALSE(Signalled(*reader, 20));
  Run(FW_HOOK_TO_POD, Tcp(kClient, kServer, 40000, 81), RunOptions{.repeat = 2});
  EXPECT_TRUE(Signalled(*reader, 1000));
  EXPECT_EQ(Drain(*reader).size(), kBelow + 2);
}

}  // namespace
}  // namespace flatwall::agent::testing
