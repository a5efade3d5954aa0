// CIDR classes: every distinct ipBlock cidr and except prefix is one class, with a
// content-addressed id (never 0). An address's class is its longest matching prefix (0 if
// none), one LPM lookup, and it decides membership in every ipBlock at once: a block
// {cidr, except} contains class K (prefix P) iff cidr ⊇ P and no except ⊇ P.
//
// One family never leaks into the other: IPv4 lives inside the IPv6 trie as ::ffff:0:0/96,
// so an IPv6 prefix such as ::/0 would otherwise be the longest match of IPv4 addresses
// that no IPv4 prefix holds. Whenever some IPv6 prefix covers that range, the IPv4 prefix
// 0.0.0.0/0 is added as a class of its own ("the rest of IPv4"), which only an ipBlock
// with cidr 0.0.0.0/0 contains.
//
// Not here: IP parsing (ip_prefix.h); which policies reference which prefixes (compiler).
#ifndef FLATWALL_POLICY_COMPILER_CIDR_CLASSES_H_
#define FLATWALL_POLICY_COMPILER_CIDR_CLASSES_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "policy-compiler/internal/content_ids.h"
#include "policy-compiler/ip_prefix.h"
#include "policy-compiler/map_image.h"

namespace flatwall::compiler {

// What a batch of reference changes did to the class set.
struct CidrChanges {
  // The prefixes whose class appeared or disappeared. Only ipBlocks whose cidr contains
  // one of them can contain a different set of classes now.
  std::vector<IpPrefix> changed;
  bool renumbered = false;  // a collision moved an existing class to another id
};

class CidrClasses {
 public:
  CidrClasses();

  // Replaces the contents: each referenced prefix with its reference count (> 0).
  void Assign(const std::map<IpPrefix, uint32_t>& references);
  void AddReference(const IpPrefix& prefix, CidrChanges* changes);
  // `prefix` must have been added; drops the class at zero references.
  void RemoveReference(const IpPrefix& prefix, CidrChanges* changes);

  // The class of the longest prefix containing `address`, 0 when none does.
  uint32_t ClassOf(const IpAddress& address) const;
  // The classes an ipBlock contains (see above), sorted.
  std::vector<uint32_t> ClassesIn(const IpBlock& block) const;
  // The fw_cidrs entries: one per class, sorted by key.
  std::vector<CidrEntry> Entries() const;
  size_t size() const { return ids_.size(); }

 private:
  // A prefix in the 128-bit space the trie uses (IPv4 mapped).
  struct TrieKey {
    std::array<uint8_t, 16> bytes;
    int length;
    friend bool operator==(const TrieKey&, const TrieKey&) = default;
    template <typename H>
    friend H AbslHashValue(H state, const TrieKey& key) {
      return H::combine(std::move(state), key.bytes, key.length);
    }
  };
  static TrieKey ToTrieKey(const IpPrefix& prefix);

  bool WantsClass(const IpPrefix& prefix) const;
  // Brings the class set in line with WantsClass(prefix).
  void Refresh(const IpPrefix& prefix, CidrChanges* changes);
  void RebuildTrie();

  std::map<IpPrefix, uint32_t> references_;
  int v4_covering_ = 0;  // referenced IPv6 prefixes that contain all of ::ffff:0:0/96
  internal::ContentIds<IpPrefix> ids_;
  absl::flat_hash_map<TrieKey, uint32_t> trie_;
  std::map<int, int, std::greater<int>> lengths_;  // 128-bit lengths in use, longest first
};

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_CIDR_CLASSES_H_
