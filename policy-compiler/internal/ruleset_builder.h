// Compiles the policies that select one local identity into its fw_rules entries: each
// rule's peers (identities, CIDR classes, or any) times its ports (any protocol, a
// protocol, port prefixes, or named ports resolved per identity).
//
// Named ports: in an ingress rule they name the local pod's own container ports, so they
// resolve against the local identity. In an egress rule they name the remote pod's ports,
// so they resolve against each remote pod identity the peer selects, and compile to
// identity entries — an external address never matches a named port. For an egress
// ipBlock peer a rule key cannot carry identity AND class, so the rule is compiled for
// exactly the pod identities all of whose fw_ipcache addresses lie inside the block
// (PeerResolver::IdentitiesInside): never an address outside it; a pod identity with
// addresses on both sides of the block's edge gets nothing from that rule.
//
// Not here: which policies select the identity (compilation.h), content-addressing the
// result into a ruleset id.
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_RULESET_BUILDER_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_RULESET_BUILDER_H_

#include <cstdint>
#include <vector>

#include "policy-compiler/identity.h"
#include "policy-compiler/internal/content_ids.h"
#include "policy-compiler/internal/peer_resolver.h"
#include "policy-compiler/internal/policy_rules.h"
#include "policy-compiler/map_image.h"
#include "policy-compiler/model.h"

namespace flatwall::compiler::internal {

// The policies selecting one local identity, per direction, each affecting that direction.
struct Selection {
  std::vector<const NetworkPolicy*> policies[FW_DIR_COUNT];
};

// The entries of one ruleset with key.ruleset 0, sorted by key, plus the comparisons the
// ruleset id allocator needs.
struct RulesetContent {
  std::vector<RuleEntry> entries;

  friend bool operator<(const RulesetContent& a, const RulesetContent& b);
  friend bool operator==(const RulesetContent& a, const RulesetContent& b);
};
uint64_t HashRulesetContent(const RulesetContent& content);

// fw_endpoint_value.rule_kinds for a ruleset.
void RuleKinds(const RulesetContent& content, __u8 (&kinds)[FW_DIR_COUNT]);

class RulesetBuilder {
 public:
  RulesetBuilder(PeerResolver* resolver, const IdentityTable& identities,
                 const ContentIds<RuleRef>& rule_ids);

  // The entries for `local`, selected by `selection`. Where rules of several policies
  // produce the same key, the lowest rule id wins, so attribution is stable, and the
  // entry's flags are the OR of theirs (FW_RULE_LOG_ALLOWED from any policy annotated
  // flatwall.io/log-allowed: "true" holds for the whole entry).
  RulesetContent Build(const IdentityKey& local, const Selection& selection);

 private:
  PeerResolver* resolver_;
  const IdentityTable& identities_;
  const ContentIds<RuleRef>& rule_ids_;
};

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_RULESET_BUILDER_H_
