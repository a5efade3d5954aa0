// The scenarios of the reachability suite (see reachability_cluster.h): policies applied to
// the x/y/z x a/b/c cluster and the truth table expected for each probed port/protocol.
// The expectations are written by hand from the NetworkPolicy API reference, never computed
// by Flatwall, and are shared by the compiler, BPF and lab runs of the suite.
#ifndef FLATWALL_TESTS_TESTING_E2E_SCENARIOS_H_
#define FLATWALL_TESTS_TESTING_E2E_SCENARIOS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "policy-compiler/model.h"
#include "tests/testing/reachability_cluster.h"

namespace flatwall::testing {

struct E2eProbe {
  uint16_t port = 80;
  compiler::Protocol protocol = compiler::Protocol::kTcp;
  TruthTable expected{true};
};

struct E2eScenario {
  std::string name;           // a gtest-friendly name stating the behaviour
  std::string policies_yaml;  // NetworkPolicy documents applied on top of the cluster
  std::vector<E2eProbe> probes;
};

std::vector<E2eScenario> E2eScenarios();

// gtest prints a scenario by its name.
inline void PrintTo(const E2eScenario& scenario, std::ostream* out) { *out << scenario.name; }

// "TCP/80" for messages.
std::string ProbeName(const E2eProbe& probe);

}  // namespace flatwall::testing

#endif  // FLATWALL_TESTS_TESTING_E2E_SCENARIOS_H_
