#include "policy-compiler/internal/policy_rules.h"

#include "policy-compiler/internal/stable_hash.h"

namespace flatwall::compiler::internal {

const std::vector<PolicyRule>& EffectiveRules(const NetworkPolicy& policy, fw_direction direction) {
  static const auto* const kNone = new std::vector<PolicyRule>();
  if (!Affects(policy, direction)) return *kNone;
  return direction == FW_DIR_INGRESS ? policy.ingress : policy.egress;
}

bool Affects(const NetworkPolicy& policy, fw_direction direction) {
  return direction == FW_DIR_INGRESS ? policy.affects_ingress : policy.affects_egress;
}

uint64_t HashRuleRef(const RuleRef& ref) {
  StableHasher hasher;
  hasher.AddString(ref.policy_namespace).AddString(ref.policy_name);
  hasher.AddInt(ref.direction).AddInt(static_cast<uint64_t>(ref.rule_index));
  return hasher.Finish();
}

std::vector<RuleRef> RuleRefs(const NetworkPolicy& policy) {
  std::vector<RuleRef> refs;
  for (fw_direction direction : kDirections) {
    const std::vector<PolicyRule>& rules = EffectiveRules(policy, direction);
    for (size_t i = 0; i < rules.size(); ++i) {
      refs.push_back({policy.namespace_name, policy.name, direction, static_cast<int>(i)});
    }
  }
  return refs;
}

std::vector<IpPrefix> ReferencedPrefixes(const NetworkPolicy& policy) {
  std::vector<IpPrefix> prefixes;
  for (fw_direction direction : kDirections) {
    for (const PolicyRule& rule : EffectiveRules(policy, direction)) {
      for (const PolicyPeer& peer : rule.peers) {
        if (KindOf(peer) != PeerKind::kIpBlock) continue;
        prefixes.push_back(peer.ip_block->cidr);
        prefixes.insert(prefixes.end(), peer.ip_block->except.begin(),
                        peer.ip_block->except.end());
      }
    }
  }
  return prefixes;
}

PeerKind KindOf(const PolicyPeer& peer) {
  bool selectors = peer.pod_selector.has_value() || peer.namespace_selector.has_value();
  if (peer.ip_block.has_value()) return selectors ? PeerKind::kNothing : PeerKind::kIpBlock;
  return selectors ? PeerKind::kSelectors : PeerKind::kNothing;
}

bool HasNamedPort(const PolicyRule& rule) {
  for (const PolicyPort& port : rule.ports) {
    if (port.port.has_value() && std::holds_alternative<std::string>(*port.port)) return true;
  }
  return false;
}

}  // namespace flatwall::compiler::internal
