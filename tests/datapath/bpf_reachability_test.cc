// The reachability suite (tests/testing/e2e_scenarios.h) through the real BPF programs:
// each scenario is compiled for all nodes, written into the maps of a freshly reset
// datapath, and every cell of every probe's 9x9 grid is decided by the from-pod and
// to-pod programs. Each cell must equal the hand-written truth table and the compiler's
// own lookup of the same tables (JudgeWithImage).
#include <string>
#include <utility>
#include <vector>

#include "agent/bpf_flow_judge.h"
#include "agent/flow_prober.h"
#include "gtest/gtest.h"
#include "policy-compiler/compiler.h"
#include "policy-compiler/manifest_decoder.h"
#include "policy-compiler/reachability.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/testing/e2e_scenarios.h"
#include "tests/testing/reachability_cluster.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using ::flatwall::testing::E2eClusterYaml;
using ::flatwall::testing::E2eScenario;
using ::flatwall::testing::E2eScenarios;

compiler::ClusterState ScenarioCluster(const E2eScenario& scenario) {
  compiler::ClusterState state;
  for (const auto& [file, contents] :
       {std::pair<std::string, std::string>{"cluster.yaml", E2eClusterYaml()},
        {"policies.yaml", scenario.policies_yaml}}) {
    compiler::DecodeResult decoded = compiler::DecodeManifest(file, contents);
    for (const compiler::DecodeError& error : decoded.errors) ADD_FAILURE() << error.ToString();
    for (compiler::ClusterObject& object : decoded.objects) {
      state.Apply(compiler::ClusterEvent{compiler::ClusterEvent::kUpsert, std::move(object)});
    }
  }
  return state;
}

// The fixture empties every map (tables and conntrack) before each scenario.
class BpfReachabilityTest : public DatapathTest,
                            public ::testing::WithParamInterface<E2eScenario> {};

TEST_P(BpfReachabilityTest, ProgramsMatchExpectedTruthTableAndCompiler) {
  const E2eScenario& scenario = GetParam();
  const compiler::ClusterState state = ScenarioCluster(scenario);
  const compiler::MapImage image = compiler::Compile(state, {.all_nodes = true});
  FW_ASSERT_OK(writer_->Apply(compiler::DiffImages(compiler::MapImage{}, image)));

  FlowProber prober(*datapath_);
  absl::Status probe_error;
  const compiler::FlowJudge probe = JudgeWithProber(prober, &probe_error);
  // No flow may be answered by a conntrack entry an earlier probe left behind.
  const compiler::FlowJudge judge = [&](const compiler::IpAddress& source,
                                        const compiler::IpAddress& destination,
                                        compiler::Protocol protocol, uint16_t port) {
    ClearFlows();
    return probe(source, destination, protocol, port);
  };

  for (const auto& e2e_probe : scenario.probes) {
    SCOPED_TRACE(::flatwall::testing::ProbeName(e2e_probe));
    const std::vector<compiler::ReachabilityResult> actual =
        compiler::ComputeReachability(state, e2e_probe.port, e2e_probe.protocol, judge);
    FW_ASSERT_OK(probe_error);
    const std::vector<compiler::ReachabilityResult> compiled = compiler::ComputeReachability(
        state, e2e_probe.port, e2e_probe.protocol, compiler::JudgeWithImage(image));
    ASSERT_EQ(actual.size(), 81u);
    ASSERT_EQ(compiled.size(), actual.size());
    std::string mismatches;
    for (size_t i = 0; i < actual.size(); ++i) {
      const compiler::ReachabilityResult& cell = actual[i];
      ASSERT_EQ(compiled[i].from + compiled[i].to, cell.from + cell.to);
      const bool expected = e2e_probe.expected.allowed(cell.from, cell.to);
      if (cell.allowed != expected || cell.allowed != compiled[i].allowed) {
        mismatches += "  " + cell.from + " -> " + cell.to + ": program " +
                      (cell.allowed ? "allowed" : "denied") + ", expected " +
                      (expected ? "allowed" : "denied") + ", compiler " +
                      (compiled[i].allowed ? "allowed" : "denied") + "\n";
      }
    }
    EXPECT_TRUE(mismatches.empty()) << "expected:\n"
                                    << e2e_probe.expected.ToString() << "mismatches:\n"
                                    << mismatches;
  }
}

INSTANTIATE_TEST_SUITE_P(E2e, BpfReachabilityTest, ::testing::ValuesIn(E2eScenarios()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace flatwall::agent::testing
