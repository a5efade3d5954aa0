// The reachability suite end to end: every scenario of tests/testing/e2e_scenarios.h
// applied to a real 2-node lab with one flatwall-agent per node, and every pair of the
// nine pods probed with real TCP and UDP connections, directly and through a Service
// ClusterIP (iptables DNAT, as kube-proxy does it). Each cell must equal `flatwall
// matrix` (the compiled model) and the hand-written truth table. SCTP probes are left to
// the BPF run of the suite: this kernel has no SCTP sockets.
//
// The scenarios are split into shards, each with a lab of its own, so ctest -j runs them
// side by side. Needs root; skips without it.
#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "agent/lab/lab.h"
#include "gtest/gtest.h"
#include "policy-compiler/compiler.h"
#include "policy-compiler/reachability.h"
#include "tests/lab/agent_lab_fixture.h"
#include "tests/lab/lab_test_util.h"
#include "tests/testing/e2e_scenarios.h"
#include "tests/testing/reachability_cluster.h"

namespace flatwall::lab {
namespace {

using compiler::Protocol;
using testing::E2eProbe;
using testing::E2eScenario;

constexpr int kShards = 4;
// A denied probe waits this long; allowed ones answer in milliseconds.
constexpr std::chrono::milliseconds kTimeout{700};

class LabReachabilityTest : public AgentLabTest, public ::testing::WithParamInterface<int> {
 protected:
  // Replaces the previous scenario's policies with `yaml` (none when empty); returns once
  // both agents enforce them.
  void ApplyPolicies(const std::string& yaml) {
    if (applied_) Delete("policies.yaml");
    applied_ = false;
    if (HasFatalFailure() || yaml.empty()) return;
    Apply("policies.yaml", yaml);
    applied_ = true;
  }

  bool applied_ = false;
};

// What `flatwall matrix` says for the cluster with `policies`: from -> to -> allowed.
std::map<std::pair<std::string, std::string>, bool> ModelVerdicts(const std::string& policies,
                                                                  const E2eProbe& probe) {
  compiler::ClusterState state =
      StateFromYaml(absl::StrCat(testing::E2eClusterYaml(), "\n---\n", policies));
  compiler::MapImage image = compiler::Compile(state, {.all_nodes = true});
  std::map<std::pair<std::string, std::string>, bool> verdicts;
  for (const compiler::ReachabilityResult& result : compiler::ComputeReachability(
           state, probe.port, probe.protocol, compiler::JudgeWithImage(image))) {
    verdicts[{result.from, result.to}] = result.allowed;
  }
  return verdicts;
}

TEST_P(LabReachabilityTest, RealTrafficEqualsTheModelDirectlyAndViaServices) {
  std::vector<E2eScenario> scenarios = testing::E2eScenarios();
  for (size_t index = GetParam(); index < scenarios.size(); index += kShards) {
    const E2eScenario& scenario = scenarios[index];
    SCOPED_TRACE(scenario.name);
    ApplyPolicies(scenario.policies_yaml);
    if (HasFatalFailure()) return;
    for (const E2eProbe& probe : scenario.probes) {
      if (probe.protocol == Protocol::kSctp) continue;
      auto model = ModelVerdicts(scenario.policies_yaml, probe);
      for (bool via_service : {false, true}) {
        SCOPED_TRACE(
            absl::StrCat(testing::ProbeName(probe), via_service ? " via Services" : " direct"));
        const ProbeOptions options{probe.port, probe.protocol, via_service, kTimeout};
        absl::StatusOr<std::vector<ProbeResult>> results = LabProbe(lab_name_, options);
        ASSERT_TRUE(results.ok()) << results.status();
        ASSERT_EQ(results->size(), 81u);
        int wrong = 0;
        for (ProbeResult& result : *results) {
          const std::string& from = result.reachability.from;
          const std::string& to = result.reachability.to;
          bool expected = probe.expected.allowed(from, to);
          ProbeAgainIfAllowedFlowTimedOut(plan(), expected, options, &result);
          EXPECT_EQ(model.at({from, to}), expected) << from << " -> " << to << " (model)";
          if (result.reachability.allowed != expected) {
            ++wrong;
            ADD_FAILURE() << from << " -> " << to << " at " << result.address << ": expected "
                          << (expected ? "allowed" : "denied") << ", got "
                          << ProbeOutcomeName(result.outcome) << " " << result.detail;
          }
        }
        if (wrong > 0) ADD_FAILURE() << "expected:\n" << probe.expected.ToString();
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shards, LabReachabilityTest, ::testing::Range(0, kShards));

}  // namespace
}  // namespace flatwall::lab
