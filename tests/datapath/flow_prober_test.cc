// FlowProber: a flow's first packet through the source's from-pod and the destination's
// to-pod program, as `flatwall matrix --datapath bpf` uses it.
#include "agent/flow_prober.h"

#include <netinet/in.h>

#include "agent/verdict_names.h"
#include "gtest/gtest.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/datapath/scenario.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using namespace scenario;  // NOLINT: the scenario's names are the tests' vocabulary

class FlowProberTest : public DatapathTest {
 protected:
  void SetUp() override {
    DatapathTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Seed(StandardTables());
  }
};

TEST_F(FlowProberTest, ReportsBothSidesAlsoPastAnEgressDrop) {
  FlowProber prober(*datapath_);
  struct Case {
    std::string name;
    Flow flow;
    bool allowed;
    std::string from_pod;
    std::string to_pod;
  };
  const std::vector<Case> cases = {
      {"egress and ingress rules", {Ip(kClient), Ip(kServer), IPPROTO_TCP, 80}, true, "RULE",
       "RULE"},
      {"ingress drops", {Ip(kOpen), Ip(kIngressOnly), IPPROTO_TCP, 80}, false, "NOT_ISOLATED",
       "DEFAULT_DENY"},
      {"egress drops, ingress would allow", {Ip(kClient), Ip(kOpen), IPPROTO_TCP, 80}, false,
       "DEFAULT_DENY", "NOT_ISOLATED"},
      {"SCTP", {Ip(kOpen), Ip(kServer), IPPROTO_SCTP, 5000}, true, "NOT_ISOLATED", "RULE"},
      {"ICMPv6 from a remote pod", {Ip(kPinger6), Ip(kServer6), IPPROTO_ICMPV6, 0}, true,
       "NO_ENDPOINT", "RULE"},
      {"UDP", {Ip(kOpen), Ip(kServer), IPPROTO_UDP, 53}, false, "NOT_ISOLATED",
       "DEFAULT_DENY"},
  };
  for (int round = 0; round < 2; ++round) {  // again: earlier probes' flows do not answer
    for (const Case& c : cases) {
      SCOPED_TRACE(c.name + (round ? ", again" : ""));
      absl::StatusOr<FlowVerdict> verdict = prober.Probe(c.flow);
      FW_ASSERT_OK(verdict);
      EXPECT_EQ(verdict->allowed, c.allowed);
      EXPECT_EQ(ReasonName(verdict->from_pod.reason), c.from_pod);
      EXPECT_EQ(ReasonName(verdict->to_pod.reason), c.to_pod);
    }
  }
}

}  // namespace
}  // namespace flatwall::agent::testing
