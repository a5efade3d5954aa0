// Small facts about a NetworkPolicy's rules that several compiler stages share: which
// rules are in effect per direction, the key a rule id is derived from, and the ipBlock
// prefixes a policy references.
//
// Not here: what a rule compiles to (ruleset_builder.h).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_POLICY_RULES_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_POLICY_RULES_H_

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "abi/common.h"
#include "policy-compiler/model.h"

namespace flatwall::compiler::internal {

inline constexpr fw_direction kDirections[] = {FW_DIR_INGRESS, FW_DIR_EGRESS};

// The rules in effect for `direction`: empty when the policy's policyTypes leave the
// direction out (the API ignores rules listed for such a direction).
const std::vector<PolicyRule>& EffectiveRules(const NetworkPolicy& policy, fw_direction direction);

// Whether the policy isolates the pods it selects in `direction`.
bool Affects(const NetworkPolicy& policy, fw_direction direction);

// What a rule id stands for; the id is content-addressed from it.
struct RuleRef {
  std::string policy_namespace;
  std::string policy_name;
  fw_direction direction = FW_DIR_INGRESS;
  int rule_index = 0;

  friend auto operator<=>(const RuleRef&, const RuleRef&) = default;
};
uint64_t HashRuleRef(const RuleRef& ref);

// One RuleRef per effective rule of `policy`.
std::vector<RuleRef> RuleRefs(const NetworkPolicy& policy);

// Every ipBlock cidr and except prefix of the policy's effective rules, with repeats.
std::vector<IpPrefix> ReferencedPrefixes(const NetworkPolicy& policy);

// How a peer selects: by address, by selectors, or not at all. A peer that names nothing,
// or mixes ipBlock with selectors (both rejected by the API server), selects nothing, so
// invalid input can never widen what a policy allows.
enum class PeerKind { kIpBlock, kSelectors, kNothing };
PeerKind KindOf(const PolicyPeer& peer);

// Whether a rule names a port by name, whose resolution depends on the remote identity
// for egress.
bool HasNamedPort(const PolicyRule& rule);

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_POLICY_RULES_H_
