#include "agent/daemon/verdict_aggregator.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "abi/verdict.h"
#include "gtest/gtest.h"

namespace flatwall::agent {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

fw_event Deny(uint16_t sport, uint64_t time_ns, uint32_t length = 60) {
  fw_event event{};
  event.timestamp_ns = time_ns;
  event.saddr.bytes[15] = 7;
  event.daddr.bytes[15] = 5;
  event.sport = htons(sport);
  event.dport = htons(81);
  event.protocol = IPPROTO_TCP;
  event.direction = FW_DIR_INGRESS;
  event.verdict = FW_VERDICT_DENY;
  event.reason = FW_REASON_DEFAULT_DENY;
  event.packet_len = length;
  return event;
}

TEST(VerdictAggregatorTest, ZeroIntervalLogsEveryEvent) {
  VerdictAggregator aggregator(absl::ZeroDuration());
  for (int i = 0; i < 3; ++i) {
    std::vector<AggregatedVerdict> out = aggregator.Add(Deny(40000, i));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_FALSE(out[0].aggregate);
    EXPECT_EQ(out[0].packets, 1u);
  }
  EXPECT_EQ(aggregator.open_flows(), 0u);
}

TEST(VerdictAggregatorTest, RepeatsWithinTheIntervalBecomeOneRecordWithCountsAndTimes) {
  VerdictAggregator aggregator(absl::Seconds(5));
  std::vector<AggregatedVerdict> first = aggregator.Add(Deny(40000, 10 * kSecond));
  ASSERT_EQ(first.size(), 1u);  // the first packet is logged at once
  EXPECT_EQ(first[0].packets, 1u);
  EXPECT_EQ(first[0].bytes, 60u);
  // Repeats: same flow (a different length does not make another flow).
  EXPECT_TRUE(aggregator.Add(Deny(40000, 11 * kSecond, 100)).empty());
  EXPECT_TRUE(aggregator.Add(Deny(40000, 12 * kSecond, 100)).empty());
  EXPECT_TRUE(aggregator.Add(Deny(40000, 13 * kSecond, 100)).empty());
  // Another flow (another source port) is logged at once.
  EXPECT_EQ(aggregator.Add(Deny(40001, 13 * kSecond)).size(), 1u);

  EXPECT_TRUE(aggregator.Flush(14 * kSecond).empty());  // the interval runs to 15 s
  std::vector<AggregatedVerdict> flushed = aggregator.Flush(15 * kSecond);
  ASSERT_EQ(flushed.size(), 1u);  // the other flow had no repeats: nothing to add
  EXPECT_TRUE(flushed[0].aggregate);
  EXPECT_EQ(flushed[0].packets, 3u);
  EXPECT_EQ(flushed[0].bytes, 300u);
  EXPECT_EQ(flushed[0].event.timestamp_ns, 11 * kSecond);
  EXPECT_EQ(flushed[0].end_ns, 13 * kSecond);
  EXPECT_EQ(aggregator.open_flows(), 1u);  // 40001's interval runs to 18 s
}

TEST(VerdictAggregatorTest, EventAfterTheIntervalEmitsTheAggregateThenItself) {
  VerdictAggregator aggregator(absl::Seconds(5));
  aggregator.Add(Deny(40000, 0));
  aggregator.Add(Deny(40000, 1 * kSecond));
  std::vector<AggregatedVerdict> out = aggregator.Add(Deny(40000, 6 * kSecond));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].aggregate);
  EXPECT_EQ(out[0].packets, 1u);
  EXPECT_FALSE(out[1].aggregate);
  EXPECT_EQ(out[1].event.timestamp_ns, 6 * kSecond);
}

TEST(VerdictAggregatorTest, DifferentVerdictsOfOneConnectionAreDifferentFlows) {
  VerdictAggregator aggregator(absl::Seconds(5));
  fw_event revoked = Deny(40000, 1);
  revoked.reason = FW_REASON_REVOKED;
  EXPECT_EQ(aggregator.Add(Deny(40000, 0)).size(), 1u);
  EXPECT_EQ(aggregator.Add(revoked).size(), 1u);
}

TEST(VerdictAggregatorTest, IcmpMessagesOfDifferentTypeOrCodeAreDifferentFlows) {
  VerdictAggregator aggregator(absl::Seconds(5));
  auto icmp = [](uint8_t type, uint8_t code, uint64_t time_ns) {
    fw_event event = Deny(0, time_ns);
    event.dport = 0;
    event.protocol = IPPROTO_ICMP;
    event.icmp_type = type;
    event.icmp_code = code;
    return event;
  };
  EXPECT_EQ(aggregator.Add(icmp(3, 1, 0)).size(), 1u);  // a new flow: written at once
  EXPECT_EQ(aggregator.Add(icmp(3, 3, 1)).size(), 1u);
  EXPECT_EQ(aggregator.Add(icmp(11, 0, 2)).size(), 1u);
  EXPECT_TRUE(aggregator.Add(icmp(3, 1, 3)).empty());  // a repeat: aggregated
}

TEST(VerdictAggregatorTest, FlushingEverythingEmitsOpenAggregatesOldestFirst) {
  VerdictAggregator aggregator(absl::Seconds(5));
  for (uint16_t port : {40002, 40001}) {
    aggregator.Add(Deny(port, port));
    aggregator.Add(Deny(port, port + 1));
  }
  std::vector<AggregatedVerdict> out = aggregator.Flush(0, /*everything=*/true);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(ntohs(out[0].event.sport), 40001);
  EXPECT_EQ(ntohs(out[1].event.sport), 40002);
  EXPECT_EQ(aggregator.open_flows(), 0u);
}

}  // namespace
}  // namespace flatwall::agent
