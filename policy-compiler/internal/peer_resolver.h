// Resolves NetworkPolicy peers to what rule keys hold: the identities a selector peer
// selects, the CIDR classes an ipBlock contains, and the pod identities lying wholly inside
// an ipBlock. Uses the identity table's indexes (by namespace, by label) instead of testing
// every identity, and memoizes each answer for the resolver's lifetime — one compile pass,
// during which the identity and class sets do not change.
//
// Not here: label matching itself (selector.h), rule keys (ruleset_builder.h).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_PEER_RESOLVER_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_PEER_RESOLVER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "policy-compiler/cidr_classes.h"
#include "policy-compiler/identity.h"
#include "policy-compiler/model.h"

namespace flatwall::compiler::internal {

// identity -> (CIDR class -> number of fw_ipcache entries of that identity in the class).
using IdentityClassCounts = absl::flat_hash_map<uint32_t, std::map<uint32_t, uint32_t>>;

// Whether a selector peer of a policy in `policy_namespace` selects identity `key`: the
// namespace selector (or, when absent, the policy's own namespace) AND the pod selector
// (or, when absent, every pod). False for peers that are not selector peers.
bool PeerSelectsIdentity(const std::string& policy_namespace, const PolicyPeer& peer,
                         const IdentityKey& key);

class PeerResolver {
 public:
  // The referenced tables must outlive the resolver and stay unchanged while it is used.
  PeerResolver(const IdentityTable& identities, const CidrClasses& cidrs,
               const IdentityClassCounts& identity_classes);

  // The identities a selector peer selects, sorted. Empty for other peers.
  const std::vector<uint32_t>& Identities(const std::string& policy_namespace,
                                          const PolicyPeer& peer);
  // The CIDR classes `block` contains, sorted.
  const std::vector<uint32_t>& Classes(const IpBlock& block);
  // The pod identities that have fw_ipcache entries and whose every entry has a class
  // inside `block`, sorted: the identities an egress named port towards `block` may be
  // resolved against without allowing an address outside the block.
  const std::vector<uint32_t>& IdentitiesInside(const IpBlock& block);

 private:
  std::vector<uint32_t> SelectIdentities(const std::string& policy_namespace,
                                         const PolicyPeer& peer) const;

  const IdentityTable& identities_;
  const CidrClasses& cidrs_;
  const IdentityClassCounts& identity_classes_;
  absl::flat_hash_map<std::string, std::vector<uint32_t>> identity_cache_;
  absl::flat_hash_map<std::string, std::vector<uint32_t>> class_cache_;
  absl::flat_hash_map<std::string, std::vector<uint32_t>> inside_cache_;
};

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_PEER_RESOLVER_H_
