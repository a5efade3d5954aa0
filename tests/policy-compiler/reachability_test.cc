// The upstream-e2e-style reachability suite: namespaces x, y, z x pods a, b, c, ports 80
// and 81 over TCP, UDP and SCTP. Each scenario applies policies to that cluster and asserts
// the full 9x9 truth table for each probed port/protocol, computed from the compiled
// tables with the datapath's lookup algorithm.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "policy-compiler/compiler.h"
#include "policy-compiler/manifest_decoder.h"
#include "policy-compiler/reachability.h"
#include "tests/testing/e2e_scenarios.h"
#include "tests/testing/reachability_cluster.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::E2eClusterYaml;
using ::flatwall::testing::E2eScenario;
using ::flatwall::testing::E2eScenarios;

class ReachabilityTest : public ::testing::TestWithParam<E2eScenario> {};

TEST_P(ReachabilityTest, MatchesExpectedTruthTable) {
  const E2eScenario& scenario = GetParam();
  ClusterState state;
  for (const auto& [file, contents] :
       {std::pair<std::string, std::string>{"cluster.yaml", E2eClusterYaml()},
        {"policies.yaml", scenario.policies_yaml}}) {
    DecodeResult decoded = DecodeManifest(file, contents);
    for (const DecodeError& error : decoded.errors) ADD_FAILURE() << error.ToString();
    for (ClusterObject& object : decoded.objects) {
      state.Apply(ClusterEvent{ClusterEvent::kUpsert, std::move(object)});
    }
  }
  MapImage image = Compile(state, CompileOptions{.all_nodes = true});

  for (const auto& probe : scenario.probes) {
    SCOPED_TRACE(testing::ProbeName(probe));
    std::vector<ReachabilityResult> results =
        ComputeReachability(state, probe.port, probe.protocol, JudgeWithImage(image));
    ASSERT_EQ(results.size(), 81u);
    std::string mismatches;
    for (const ReachabilityResult& result : results) {
      if (result.allowed != probe.expected.allowed(result.from, result.to)) {
        mismatches += "  " + result.from + " -> " + result.to + ": got " +
                      (result.allowed ? "allowed" : "denied") + "\n";
      }
    }
    EXPECT_TRUE(mismatches.empty()) << "expected:\n"
                                    << probe.expected.ToString() << "mismatches:\n"
                                    << mismatches;
  }
}

INSTANTIATE_TEST_SUITE_P(E2e, ReachabilityTest, ::testing::ValuesIn(E2eScenarios()),
                         [](const auto& info) { return info.param.name; });

TEST(ReachabilityScenariosTest, SuiteHasAtLeastThirtyScenarios) {
  EXPECT_GE(E2eScenarios().size(), 30u);
}

}  // namespace
}  // namespace flatwall::compiler
