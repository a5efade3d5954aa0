// Identities: pods with equal (namespace, namespace labels, pod labels, named-port table)
// share one identity, the number the datapath keys rules and the IP cache by. Ids are
// content-addressed in [FW_IDENTITY_FIRST_POD, 2^31), so every node and every restart
// derives the same id for the same key, and unrelated changes never renumber one.
//
// IdentityTable also indexes the live identities by namespace, by label and by named port,
// so that a policy peer is resolved without testing every identity.
//
// Not here: which identities a policy peer selects (internal/peer_resolver.h); reserved
// identities (abi/common.h).
#ifndef FLATWALL_POLICY_COMPILER_IDENTITY_H_
#define FLATWALL_POLICY_COMPILER_IDENTITY_H_

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "policy-compiler/internal/content_ids.h"
#include "policy-compiler/model.h"

namespace flatwall::compiler {

// A pod's named container ports: name -> sorted, unique (protocol, port) pairs.
using NamedPortTable = std::map<std::string, std::vector<std::pair<Protocol, uint16_t>>>;

struct IdentityKey {
  std::string namespace_name;
  LabelSet namespace_labels;
  LabelSet labels;
  NamedPortTable named_ports;

  friend auto operator<=>(const IdentityKey&, const IdentityKey&) = default;
  friend bool operator==(const IdentityKey&, const IdentityKey&) = default;
};

// The identity key of `pod` in a namespace labelled `namespace_labels`.
IdentityKey MakeIdentityKey(const Pod& pod, const LabelSet& namespace_labels);

// The stable hash the identity id is derived from.
uint64_t HashIdentityKey(const IdentityKey& key);

// The port numbers `key`'s pods serve under `port_name` with `protocol` (sorted); empty
// when they have no such named port, or it has another protocol.
std::vector<uint16_t> ResolveNamedPort(const IdentityKey& key, const std::string& port_name,
                                       Protocol protocol);

// Groups many pods by identity key while building one key per identity rather than one per
// pod: compiling 100k pods must not copy 100k label maps. Namespace labels are taken as
// fixed per namespace name for the grouper's lifetime.
class IdentityKeyGrouper {
 public:
  // The group of `pod`, created (with a key built from `namespace_labels`) if new.
  size_t Add(const Pod& pod, const LabelSet& namespace_labels);
  // Each group's key and number of pods, indexed by group.
  std::vector<std::pair<IdentityKey, uint32_t>>& groups() { return groups_; }

 private:
  std::vector<std::pair<IdentityKey, uint32_t>> groups_;
  absl::flat_hash_map<uint64_t, std::vector<size_t>> by_hash_;
};

// What one batch of reference changes did to the identity set.
struct IdentityChanges {
  std::vector<uint32_t> created;
  std::vector<std::pair<uint32_t, IdentityKey>> removed;
  // A collision moved an existing identity to another id; callers recompute everything
  // that holds identity numbers (rare: see internal/content_ids.h).
  bool renumbered = false;
};

// The live identities, each with the number of pods referencing it.
class IdentityTable {
 public:
  IdentityTable();

  // Replaces the contents: each distinct key with its pod count (> 0). For compiling from
  // scratch. Returns the id of each key, in the order given.
  std::vector<uint32_t> Assign(std::vector<std::pair<IdentityKey, uint32_t>> pod_counts);

  // Adds one pod reference to `key` and returns its id, creating the identity if needed.
  uint32_t Acquire(const IdentityKey& key, IdentityChanges* changes);
  // Drops one pod reference to `id` (which must be live); removes it at zero.
  void Release(uint32_t id, IdentityChanges* changes);

  uint32_t Find(const IdentityKey& key) const { return ids_.Find(key); }
  // The key of a live identity, nullptr for any other id.
  const IdentityKey* KeyOf(uint32_t id) const { return ids_.KeyOf(id); }
  size_t size() const { return ids_.size(); }

  // Calls visit(key, id) for every live identity, in key order.
  template <typename Visit>
  void ForEach(Visit visit) const {
    ids_.ForEach(visit);
  }

  // Index lookups; each list is sorted by id, and empty when nothing matches.
  // Identities of one namespace, grouped by the namespace labels they carry (during a
  // namespace relabel both the old and the new labels are live for a moment).
  const std::map<LabelSet, std::vector<uint32_t>>& InNamespace(const std::string& name) const;
  const std::map<std::string, std::map<LabelSet, std::vector<uint32_t>>>& namespaces() const {
    return by_namespace_;
  }
  const std::vector<uint32_t>& WithLabel(absl::string_view key, absl::string_view value) const;
  const std::vector<uint32_t>& WithNamedPort(const std::string& port_name) const;

 private:
  void Index(uint32_t id, const IdentityKey& key);
  void Unindex(uint32_t id, const IdentityKey& key);
  void RebuildIndexes();
  // The ids of by_label_'s entry for `label`, one of the labels of `labels`; a new entry
  // keeps `labels` alive for its key.
  std::vector<uint32_t>& LabelIds(const LabelSet& labels, const LabelSet::value_type& label);
  void Renumber(const std::vector<internal::ContentIds<IdentityKey>::Renumbered>& moved,
                IdentityChanges* changes);

  internal::ContentIds<IdentityKey> ids_;
  absl::flat_hash_map<uint32_t, uint32_t> pod_counts_;
  std::map<std::string, std::map<LabelSet, std::vector<uint32_t>>> by_namespace_;
  // One entry per distinct label. Its key points into `owner`, a label set of one of the
  // identities that carried the label when the entry was made, held so that the views
  // outlive that identity: no copies of the label's bytes, and lookups by view.
  struct LabelEntry {
    LabelSet owner;
    std::vector<uint32_t> ids;
  };
  absl::flat_hash_map<LabelSet::value_type, LabelEntry> by_label_;
  absl::flat_hash_map<std::string, std::vector<uint32_t>> by_named_port_;
};

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_IDENTITY_H_
