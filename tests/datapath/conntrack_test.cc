// Conntrack through the real programs: replies and later packets of allowed flows,
// per-flow counters with and without FW_CFG_CT_ACCOUNTING, lifetimes decided in the
// datapath, revocation after a policy change, ICMP echo and related ICMP errors.
#include <netinet/in.h>
#include <time.h>

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

constexpr uint64_t kSecond = 1000000000ull;
constexpr uint8_t kSyn = PacketBuilder::kSyn;
constexpr uint8_t kAck = PacketBuilder::kAck;
constexpr uint8_t kFin = PacketBuilder::kFin;
constexpr uint8_t kRst = PacketBuilder::kRst;

// Packets of the flow client:40000 -> server:80, which the server's ingress allows and
// its egress does not: a reply passes only through conntrack.
std::vector<uint8_t> ToServer(uint8_t flags) {
  return PacketBuilder(Ip(kClient), Ip(kServer)).Tcp(40000, 80, flags).Build();
}
std::vector<uint8_t> FromServer(uint8_t flags) {
  return PacketBuilder(Ip(kServer), Ip(kClient)).Tcp(80, 40000, flags).Build();
}

struct Step {
  fw_hook hook;
  std::vector<uint8_t> frame;
};

class ConntrackTest : public DatapathTest {
 protected:
  void SetUp() override {
    DatapathTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Seed(StandardTables());
  }

  std::string ReasonOf(fw_hook hook, const std::vector<uint8_t>& frame) {
    return std::string(ReasonName(Run(hook, frame).reason));
  }

  void RunSteps(const std::vector<Step>& steps) {
    for (const Step& step : steps) {
      EXPECT_EQ(Run(step.hook, step.frame).verdict, FW_VERDICT_ALLOW);
    }
  }

  // Sets or clears FW_CFG_CT_ACCOUNTING, as the agent's --conntrack-accounting does.
  void SetAccounting(bool on) {
    fw_config config = Config();
    config.flags = on ? config.flags | FW_CFG_CT_ACCOUNTING : config.flags & ~FW_CFG_CT_ACCOUNTING;
    SetConfig(config);
  }
};

TEST_F(ConntrackTest, ReplyOfAllowedFlowPassesWhereThePolicyWouldDropIt) {
  EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, ToServer(kSyn)), "RULE");
  const RunResult reply = Run(FW_HOOK_FROM_POD, FromServer(kSyn | kAck));
  EXPECT_EQ(ReasonName(reply.reason), "ESTABLISHED");
  EXPECT_EQ(reply.rule_id, kClientTcp80);

  ClearFlows();
  EXPECT_EQ(ReasonOf(FW_HOOK_FROM_POD, FromServer(kSyn | kAck)), "DEFAULT_DENY");
}

TEST_F(ConntrackTest, ReplyToFlowOfUnisolatedDirectionPassesIsolatedDirection) {
  const std::vector<uint8_t> out =
      PacketBuilder(Ip(kIngressOnly), Ip(kWorld)).Tcp(41000, 443, kSyn).Build();
  const std::vector<uint8_t> back =
      PacketBuilder(Ip(kWorld), Ip(kIngressOnly)).Tcp(443, 41000, kSyn | kAck).Build();
  EXPECT_EQ(ReasonOf(FW_HOOK_FROM_POD, out), "NOT_ISOLATED");
  EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, back), "ESTABLISHED");
}

TEST_F(ConntrackTest, FlowEntryCountsBothDirections) {
  SetAccounting(true);
  RunSteps({{FW_HOOK_TO_POD, ToServer(kSyn)},
            {FW_HOOK_FROM_POD, FromServer(kSyn | kAck)},
            {FW_HOOK_TO_POD, ToServer(kAck)},
            {FW_HOOK_TO_POD, ToServer(kAck)}});
  const auto flows = Flows();
  ASSERT_EQ(flows.size(), 1u);
  const fw_ct_key& key = flows[0].first;
  const fw_ct_value& value = flows[0].second;
  EXPECT_TRUE(compiler::AbiEqual(key.local, AbiAddr(kServer)));
  EXPECT_TRUE(compiler::AbiEqual(key.remote, AbiAddr(kClient)));
  EXPECT_EQ(ntohs(key.local_port), 80);
  EXPECT_EQ(ntohs(key.remote_port), 40000);
  EXPECT_EQ(value.origin, FW_DIR_INGRESS);
  EXPECT_EQ(value.reason, FW_REASON_RULE);
  EXPECT_EQ(value.packets[FW_CT_ORIGINAL], 3u);
  EXPECT_EQ(value.packets[FW_CT_REPLY], 1u);
  EXPECT_EQ(value.bytes[FW_CT_ORIGINAL], 3 * ToServer(kAck).size());
  EXPECT_EQ(value.tcp_flags[FW_CT_ORIGINAL], kSyn | kAck);
  EXPECT_EQ(value.tcp_flags[FW_CT_REPLY], kSyn | kAck);
  EXPECT_EQ(value.generation, Config().generation);
}

// Off (the default), an entry keeps its first packet's count while the TCP flags and the
// last-seen time still follow the flow; switched on, the next packets of that same entry
// count in both directions.
TEST_F(ConntrackTest, AccountingSwitchDecidesWhetherEstablishedPacketsCount) {
  ASSERT_EQ(Config().flags & FW_CFG_CT_ACCOUNTING, 0u);
  const std::vector<uint8_t> syn = ToServer(kSyn);
  const std::vector<uint8_t> syn_ack = FromServer(kSyn | kAck);
  const std::vector<uint8_t> ack = ToServer(kAck);
  RunSteps({{FW_HOOK_TO_POD, syn}, {FW_HOOK_FROM_POD, syn_ack}, {FW_HOOK_TO_POD, ack}});
  AgeFlows(10 * kSecond);
  RunSteps({{FW_HOOK_TO_POD, ack}});
  auto flows = Flows();
  ASSERT_EQ(flows.size(), 1u);
  fw_ct_value value = flows[0].second;
  EXPECT_EQ(value.packets[FW_CT_ORIGINAL], 1u);
  EXPECT_EQ(value.packets[FW_CT_REPLY], 0u);
  EXPECT_EQ(value.bytes[FW_CT_ORIGINAL], syn.size());
  EXPECT_EQ(value.bytes[FW_CT_REPLY], 0u);
  EXPECT_EQ(value.tcp_flags[FW_CT_ORIGINAL], kSyn | kAck);
  EXPECT_EQ(value.tcp_flags[FW_CT_REPLY], kSyn | kAck);
  timespec now{};
  ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC_COARSE, &now), 0);
  const uint64_t now_ns = static_cast<uint64_t>(now.tv_sec) * kSecond + now.tv_nsec;
  EXPECT_GT(value.last_seen_ns, now_ns - 5 * kSecond);  // refreshed after AgeFlows

  SetAccounting(true);
  const std::vector<uint8_t> reply = FromServer(kAck);
  RunSteps({{FW_HOOK_TO_POD, ack}, {FW_HOOK_FROM_POD, reply}, {FW_HOOK_FROM_POD, reply}});
  flows = Flows();
  ASSERT_EQ(flows.size(), 1u);
  value = flows[0].second;
  EXPECT_EQ(value.packets[FW_CT_ORIGINAL], 2u);
  EXPECT_EQ(value.packets[FW_CT_REPLY], 2u);
  EXPECT_EQ(value.bytes[FW_CT_ORIGINAL], syn.size() + ack.size());
  EXPECT_EQ(value.bytes[FW_CT_REPLY], 2 * reply.size());
}

TEST_F(ConntrackTest, EntriesPastTheirLifetimeAreJudgedAsNew) {
  const std::vector<Step> opening = {{FW_HOOK_TO_POD, ToServer(kSyn)}};
  const std::vector<Step> established = {{FW_HOOK_TO_POD, ToServer(kSyn)},
                                         {FW_HOOK_FROM_POD, FromServer(kSyn | kAck)},
                                         {FW_HOOK_TO_POD, ToServer(kAck)}};
  std::vector<Step> reset = established;
  reset.push_back({FW_HOOK_FROM_POD, FromServer(kRst)});
  std::vector<Step> half_closed = established;
  half_closed.push_back({FW_HOOK_TO_POD, ToServer(kFin | kAck)});
  std::vector<Step> closed = half_closed;
  closed.push_back({FW_HOOK_FROM_POD, FromServer(kFin | kAck)});
  const std::vector<uint8_t> server_reply = FromServer(kAck);

  const std::vector<Step> udp = {
      {FW_HOOK_TO_POD, PacketBuilder(Ip(kClient), Ip(kServer)).Udp(40000, 8192).Build()}};
  const std::vector<uint8_t> udp_reply =
      PacketBuilder(Ip(kServer), Ip(kClient)).Udp(8192, 40000).Build();
  const std::vector<Step> ping = {
      {FW_HOOK_TO_POD, PacketBuilder(Ip(kPinger), Ip(kServer)).IcmpEcho(9).Build()}};
  const std::vector<uint8_t> pong =
      PacketBuilder(Ip(kServer), Ip(kPinger)).IcmpEcho(9, /*reply=*/true).Build();

  struct Case {
    std::string name;
    std::vector<Step> setup;
    uint64_t age_ns;
    std::vector<uint8_t> reply;  // from the server, which its egress policy denies
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"TCP opening, within 60 s", opening, 59 * kSecond, server_reply, "ESTABLISHED"},
      {"TCP opening, past 60 s", opening, 61 * kSecond, server_reply, "DEFAULT_DENY"},
      {"TCP established, past 60 s", established, 61 * kSecond, server_reply, "ESTABLISHED"},
      {"TCP established, within 6 h", established, 6 * 3600 * kSecond - kSecond, server_reply,
       "ESTABLISHED"},
      {"TCP established, past 6 h", established, 6 * 3600 * kSecond + kSecond, server_reply,
       "DEFAULT_DENY"},
      {"TCP reset, within 10 s", reset, 9 * kSecond, server_reply, "ESTABLISHED"},
      {"TCP reset, past 10 s", reset, 11 * kSecond, server_reply, "DEFAULT_DENY"},
      {"TCP FIN one way, past 10 s", half_closed, 11 * kSecond, server_reply, "ESTABLISHED"},
      {"TCP FIN both ways, past 10 s", closed, 11 * kSecond, server_reply, "DEFAULT_DENY"},
      {"UDP, within 120 s", udp, 119 * kSecond, udp_reply, "ESTABLISHED"},
      {"UDP, past 120 s", udp, 121 * kSecond, udp_reply, "DEFAULT_DENY"},
      {"ICMP echo, within 30 s", ping, 29 * kSecond, pong, "ESTABLISHED"},
      {"ICMP echo, past 30 s", ping, 31 * kSecond, pong, "DEFAULT_DENY"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ClearFlows();
    RunSteps(c.setup);
    AgeFlows(c.age_ns);
    EXPECT_EQ(ReasonOf(FW_HOOK_FROM_POD, c.reply), c.reason);
  }
}

TEST_F(ConntrackTest, NewSynOnClosedConnectionIsJudgedAgain) {
  RunSteps({{FW_HOOK_TO_POD, ToServer(kSyn)},
            {FW_HOOK_FROM_POD, FromServer(kSyn | kAck)},
            {FW_HOOK_TO_POD, ToServer(kAck)},
            {FW_HOOK_TO_POD, ToServer(kRst)}});
  EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, ToServer(kSyn)), "RULE");
  EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, ToServer(kAck)), "ESTABLISHED");
}

TEST_F(ConntrackTest, PolicyChangeRevokesFlowsItNoLongerAllows) {
  for (const bool reply_first : {false, true}) {
    SCOPED_TRACE(reply_first ? "reply direction first" : "original direction first");
    Seed(StandardTables());
    ClearFlows();
    RunSteps({{FW_HOOK_TO_POD, ToServer(kSyn)}, {FW_HOOK_FROM_POD, FromServer(kSyn | kAck)}});

    compiler::MapDiff revoke;
    revoke.rules.deletes.push_back(
        MakeRule({.ruleset = kServerRules, .direction = FW_DIR_INGRESS,
                  .kind = FW_REMOTE_IDENTITY, .remote = kClientId, .protocol = IPPROTO_TCP,
                  .port = 80})
            .key);
    FW_ASSERT_OK(writer_->Apply(revoke));

    const RunResult revoked = reply_first ? Run(FW_HOOK_FROM_POD, FromServer(kAck))
                                          : Run(FW_HOOK_TO_POD, ToServer(kAck));
    EXPECT_EQ(revoked.verdict, FW_VERDICT_DENY);
    EXPECT_EQ(ReasonName(revoked.reason), "REVOKED");
    EXPECT_EQ(revoked.direction, FW_DIR_INGRESS);  // the flow's, whichever packet came
    EXPECT_TRUE(Flows().empty());
    EXPECT_EQ(ReasonOf(FW_HOOK_FROM_POD, FromServer(kAck)), "DEFAULT_DENY");
  }
}

TEST_F(ConntrackTest, PolicyChangeThatStillAllowsKeepsFlowUnderNewRule) {
  RunSteps({{FW_HOOK_TO_POD, ToServer(kSyn)}, {FW_HOOK_FROM_POD, FromServer(kSyn | kAck)}});
  compiler::MapDiff renumber;
  renumber.rules.upserts.push_back(
      MakeRule({.ruleset = kServerRules, .direction = FW_DIR_INGRESS,
                .kind = FW_REMOTE_IDENTITY, .remote = kClientId, .protocol = IPPROTO_TCP,
                .port = 80, .rule_id = 111}));
  FW_ASSERT_OK(writer_->Apply(renumber));

  const RunResult reply = Run(FW_HOOK_FROM_POD, FromServer(kAck));
  EXPECT_EQ(ReasonName(reply.reason), "ESTABLISHED");
  EXPECT_EQ(reply.rule_id, 111u);
  ASSERT_EQ(Flows().size(), 1u);
  EXPECT_EQ(Flows()[0].second.generation, Config().generation);
}

TEST_F(ConntrackTest, EchoReplyMatchesItsRequestIdentifier) {
  EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD, PacketBuilder(Ip(kPinger), Ip(kServer)).IcmpEcho(9).Build()),
            "RULE");
  EXPECT_EQ(ReasonOf(FW_HOOK_FROM_POD,
                     PacketBuilder(Ip(kServer), Ip(kPinger)).IcmpEcho(9, true).Build()),
            "ESTABLISHED");
  EXPECT_EQ(ReasonOf(FW_HOOK_FROM_POD,
                     PacketBuilder(Ip(kServer), Ip(kPinger)).IcmpEcho(10, true).Build()),
            "DEFAULT_DENY");
  EXPECT_EQ(ReasonOf(FW_HOOK_TO_POD,
                     PacketBuilder(Ip(kPinger6), Ip(kServer6)).IcmpEcho(9).Build()),
            "RULE");
  EXPECT_EQ(ReasonOf(FW_HOOK_FROM_POD,
                     PacketBuilder(Ip(kServer6), Ip(kPinger6)).IcmpEcho(9, true).Build()),
            "ESTABLISHED");
}

TEST_F(ConntrackTest, IcmpErrorsPassOnlyForTheirEndpointsTrackedFlows) {
  // Tracked: server -> web-a:8080 (server's egress) and client -> server UDP 8192 and
  // client6 -> server6:80 (server's ingress).
  RunSteps({{FW_HOOK_FROM_POD, PacketBuilder(Ip(kServer), Ip(kWebA)).Tcp(42000, 8080).Build()},
            {FW_HOOK_TO_POD, PacketBuilder(Ip(kClient), Ip(kServer)).Udp(40000, 8192).Build()},
            {FW_HOOK_TO_POD, PacketBuilder(Ip(kClient6), Ip(kServer6)).Tcp(40000, 80).Build()}});
  auto quote = [](const char* from, const char* to, uint16_t sport, uint16_t dport) {
    return PacketBuilder(Ip(from), Ip(to)).Tcp(sport, dport).BuildDatagram();
  };
  const std::vector<uint8_t> udp_quote =
      PacketBuilder(Ip(kClient), Ip(kServer)).Udp(40000, 8192).BuildDatagram();
  std::vector<uint8_t> short_quote = quote(kServer, kWebA, 42000, 8080);
  short_quote.resize(20 + 2);  // the ports cut in half

  struct Case {
    std::string name;
    fw_hook hook;
    std::vector<uint8_t> frame;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"unreachable about the server's own flow", FW_HOOK_TO_POD,
       PacketBuilder(Ip(kWorld), Ip(kServer)).IcmpError(3, 1, quote(kServer, kWebA, 42000, 8080)).Build(),
       "RELATED"},
      {"time exceeded about it", FW_HOOK_TO_POD,
       PacketBuilder(Ip(kWorld), Ip(kServer)).IcmpError(11, 0, quote(kServer, kWebA, 42000, 8080)).Build(),
       "RELATED"},
      {"about an untracked flow", FW_HOOK_TO_POD,
       PacketBuilder(Ip(kWorld), Ip(kServer)).IcmpError(3, 1, quote(kServer, kWebA, 42000, 8081)).Build(),
       "DEFAULT_DENY"},
      {"about another pod's flow", FW_HOOK_TO_POD,
       PacketBuilder(Ip(kWorld), Ip(kServer)).IcmpError(3, 1, quote(kOpen, kWebA, 42000, 8080)).Build(),
       "DEFAULT_DENY"},
      {"quote too short for ports", FW_HOOK_TO_POD,
       PacketBuilder(Ip(kWorld), Ip(kServer)).IcmpError(3, 1, short_quote).Build(),
       "DEFAULT_DENY"},
      {"the server's port unreachable to the client", FW_HOOK_FROM_POD,
       PacketBuilder(Ip(kServer), Ip(kClient)).IcmpError(3, 3, udp_quote).Build(), "RELATED"},
      {"ICMPv6 unreachable from the server", FW_HOOK_FROM_POD,
       PacketBuilder(Ip(kServer6), Ip(kClient6)).IcmpError(1, 4, quote(kClient6, kServer6, 40000, 80)).Build(),
       "RELATED"},
      {"ICMPv6 packet too big to the server", FW_HOOK_TO_POD,
       PacketBuilder(Ip(kExternal6), Ip(kServer6)).IcmpError(2, 0, quote(kServer6, kClient6, 80, 40000)).Build(),
       "RELATED"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ReasonOf(c.hook, c.frame), c.reason);
  }
}

}  // namespace
}  // namespace flatwall::agent::testing
