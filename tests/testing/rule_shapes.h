// AddRuleShapes: for tests that write policy tables by hand, sets the port-shape bits of
// each endpoint's rule_kinds (abi/policy_maps.h) from its ruleset's rules, as the compiler
// does, so a test states only which remote kinds an endpoint's rules have.
//
// Not here: building the entries themselves (tests/datapath/datapath_fixture.h,
// model_builders.h).
#ifndef FLATWALL_TESTS_TESTING_RULE_SHAPES_H_
#define FLATWALL_TESTS_TESTING_RULE_SHAPES_H_

#include <vector>

#include "abi/policy_maps.h"
#include "policy-compiler/map_image.h"

namespace flatwall::testing {

inline void AddRuleShapes(const std::vector<compiler::RuleEntry>& rules,
                          std::vector<compiler::EndpointEntry>& endpoints) {
  for (compiler::EndpointEntry& endpoint : endpoints) {
    for (const compiler::RuleEntry& rule : rules) {
      if (rule.key.ruleset != endpoint.value.ruleset || rule.key.direction >= FW_DIR_COUNT) {
        continue;
      }
      endpoint.value.rule_kinds[rule.key.direction] |= fw_rule_shape(rule.key.prefixlen);
    }
  }
}

}  // namespace flatwall::testing

#endif  // FLATWALL_TESTS_TESTING_RULE_SHAPES_H_
