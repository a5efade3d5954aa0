// FW_RULE_LOG_ALLOWED (a policy annotated flatwall.io/log-allowed): the first packet of a
// flow allowed by a flagged rule entry gives one ALLOW event, whichever lookup shape
// matched (exact port, port range, any port, any protocol; identity or CIDR remote); a
// flow allowed by an unflagged entry gives none; denied packets give their events exactly
// as without the flag. The endpoint flag and the node-wide switch: events_counters_test.cc.
#include <netinet/in.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/event_reader.h"
#include "agent/verdict_names.h"
#include "gtest/gtest.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/datapath/scenario.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using namespace scenario;  // NOLINT: the scenario's names are the tests' vocabulary

// The standard tables with FW_RULE_LOG_ALLOWED on the entries of `logged` rule ids.
Tables WithLoggedRules(const std::set<uint32_t>& logged) {
  Tables tables = StandardTables();
  for (compiler::RuleEntry& entry : tables.rules) {
    if (logged.contains(entry.value.rule_id)) entry.value.flags |= FW_RULE_LOG_ALLOWED;
  }
  return tables;
}

// One flagged rule per lookup shape and remote kind; kAnySctp5000 and the egress rules
// stay unflagged.
const std::set<uint32_t> kLogged = {kClientTcp80, kClientUdpRange, kTcpAnyAllPorts, kPingerAll,
                                    kBlockTcp443};

struct Case {
  std::string name;
  fw_hook hook;
  std::vector<uint8_t> frame;
  fw_verdict verdict;
  uint32_t rule_id;  // of the event; no event when the rule is not in kLogged
};

std::vector<Case> Cases() {
  auto from = [](const char* source, const char* destination) {
    return PacketBuilder(Ip(source), Ip(destination));
  };
  return {
      {"exact port", FW_HOOK_TO_POD, from(kClient, kServer).Tcp(40000, 80).Build(),
       FW_VERDICT_ALLOW, kClientTcp80},
      {"port range", FW_HOOK_TO_POD, from(kClient, kServer).Udp(40000, 8300).Build(),
       FW_VERDICT_ALLOW, kClientUdpRange},
      {"any port", FW_HOOK_TO_POD, from(kTcpAny, kServer).Tcp(40000, 9999).Build(),
       FW_VERDICT_ALLOW, kTcpAnyAllPorts},
      {"any protocol", FW_HOOK_TO_POD, from(kPinger, kServer).IcmpEcho(7).Build(),
       FW_VERDICT_ALLOW, kPingerAll},
      {"CIDR remote", FW_HOOK_TO_POD, from(kExternal, kServer).Tcp(40000, 443).Build(),
       FW_VERDICT_ALLOW, kBlockTcp443},
      {"unflagged any-peer rule", FW_HOOK_TO_POD, from(kWorld, kServer).Sctp(40000, 5000).Build(),
       FW_VERDICT_ALLOW, kAnySctp5000},
      {"unflagged egress rule", FW_HOOK_FROM_POD, from(kClient, kServer).Tcp(40000, 80).Build(),
       FW_VERDICT_ALLOW, kClientToServer},
      {"denied", FW_HOOK_TO_POD, from(kClient, kServer).Tcp(40000, 81).Build(), FW_VERDICT_DENY,
       0},
      {"denied, excepted block", FW_HOOK_TO_POD, from(kExcepted, kServer).Tcp(40000, 443).Build(),
       FW_VERDICT_DENY, 0},
  };
}

class RuleLogAllowedTest : public DatapathTest {
 protected:
  // The events of `c`'s first packet, run against `tables` from a clean state.
  std::vector<fw_event> EventsOf(const Case& c, const Tables& tables) {
    ResetMaps();
    Seed(tables);
    absl::StatusOr<std::unique_ptr<EventReader>> reader = EventReader::Start(*datapath_);
    EXPECT_THAT(reader, ::flatwall::testing::IsOk());
    if (!reader.ok()) return {};
    RunResult result = Run(c.hook, c.frame);
    EXPECT_EQ(result.verdict, c.verdict);
    EXPECT_EQ(result.rule_id, c.rule_id);
    absl::StatusOr<std::vector<fw_event>> events = (*reader)->Poll(0);
    EXPECT_THAT(events, ::flatwall::testing::IsOk());
    return events.ok() ? *events : std::vector<fw_event>{};
  }
};

TEST_F(RuleLogAllowedTest, FlaggedRuleLogsItsNewFlowsAndNothingElseChanges) {
  const Tables flagged = WithLoggedRules(kLogged);
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    const std::vector<fw_event> events = EventsOf(c, flagged);
    if (c.verdict == FW_VERDICT_DENY) {
      // The deny path never reads a rule's flags: the same one event as without them.
      const std::vector<fw_event> plain = EventsOf(c, StandardTables());
      ASSERT_EQ(events.size(), 1u);
      ASSERT_EQ(plain.size(), 1u);
      EXPECT_EQ(events[0].verdict, FW_VERDICT_DENY);
      EXPECT_EQ(ReasonName(events[0].reason), "DEFAULT_DENY");
      fw_event a = events[0], b = plain[0];
      a.timestamp_ns = b.timestamp_ns = 0;
      EXPECT_TRUE(compiler::AbiEqual(a, b));
    } else if (kLogged.contains(c.rule_id)) {
      ASSERT_EQ(events.size(), 1u);
      EXPECT_EQ(events[0].verdict, FW_VERDICT_ALLOW);
      EXPECT_EQ(ReasonName(events[0].reason), "RULE");
      EXPECT_EQ(events[0].rule_id, c.rule_id);
      // Without the flag the same flow is silent.
      EXPECT_TRUE(EventsOf(c, StandardTables()).empty());
    } else {
      EXPECT_TRUE(events.empty());
    }
  }
}

TEST_F(RuleLogAllowedTest, OnlyTheFirstPacketOfALoggedFlowIsReported) {
  Seed(WithLoggedRules(kLogged));
  absl::StatusOr<std::unique_ptr<EventReader>> reader = EventReader::Start(*datapath_);
  FW_ASSERT_OK(reader);
  const auto packet = [](uint8_t flags) {
    return PacketBuilder(Ip(kClient), Ip(kServer)).Tcp(40000, 80, flags).Build();
  };
  Run(FW_HOOK_TO_POD, packet(PacketBuilder::kSyn));
  Run(FW_HOOK_TO_POD, packet(PacketBuilder::kAck));
  Run(FW_HOOK_TO_POD, packet(PacketBuilder::kAck | PacketBuilder::kPsh));
  absl::StatusOr<std::vector<fw_event>> events = (*reader)->Poll(0);
  FW_ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].tcp_flags, PacketBuilder::kSyn);
}

}  // namespace
}  // namespace flatwall::agent::testing
