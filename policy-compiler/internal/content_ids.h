// Content-addressed ids with deterministic collision handling, shared by identities, CIDR
// classes, rulesets and rule ids.
//
// A key's id is derived from its stable hash, so the same set of keys always gets the same
// ids, on every node and whatever order the keys arrived in, and adding or removing a key
// never renumbers an unrelated one. Collisions are settled in rounds: in round r every key
// still without an id wants Probe(hash, r); an id taken in an earlier round is lost, and
// among keys wanting the same free id the smallest key (operator<) wins; the rest retry in
// round r+1. The result is a function of the key set alone. Adding or removing a key takes
// O(log n) unless a probe of that key touches an id some other key ever probed; then every
// id is reassigned from scratch (O(n log n), rare: about n^2 / (2 * range) collisions) and
// the keys that moved are reported.
//
// Not here: the hash of each kind of key (identity.h, cidr_classes.h, ...).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_CONTENT_IDS_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_CONTENT_IDS_H_

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "policy-compiler/internal/stable_hash.h"

namespace flatwall::compiler::internal {

template <typename Key>
class ContentIds {
 public:
  struct Renumbered {
    Key key;
    uint32_t old_id;
    uint32_t new_id;
  };

  // Ids are drawn from [first, end); first >= 1 so that 0 can mean "none". The range must
  // be far larger than the number of keys (probing assumes a sparse table).
  ContentIds(uint64_t first, uint64_t end) : first_(first), range_(end - first) {}

  // Replaces the key set with `keys` (distinct keys, each with its stable hash), e.g. when
  // compiling from scratch. Returns the id of each key, in the order given.
  std::vector<uint32_t> Assign(std::vector<std::pair<Key, uint64_t>> keys) {
    slots_.clear();
    std::vector<const Slot*> given;
    given.reserve(keys.size());
    for (auto& [key, hash] : keys) {
      given.push_back(&slots_.emplace(std::move(key), Slot{hash, 0, 0}).first->second);
    }
    Reassign();
    std::vector<uint32_t> ids;
    ids.reserve(given.size());
    for (const Slot* slot : given) ids.push_back(slot->id);
    return ids;
  }

  // Adds `key` with its stable hash (no-op if present). Returns the other keys whose id
  // changed because of a collision; usually none.
  std::vector<Renumbered> Add(const Key& key, uint64_t hash) {
    if (slots_.count(key) > 0) return {};
    uint32_t wanted = Probe(hash, 0);
    auto [it, inserted] = slots_.emplace(key, Slot{hash, wanted, 0});
    if (!probes_.contains(wanted)) {
      // Nobody ever wanted this id, so no other key's outcome depends on it.
      probes_[wanted] = 1;
      owners_[wanted] = &it->first;
      return {};
    }
    return ReassignReportingMoves(&key);
  }

  // Removes `key` (no-op if absent). Returns the other keys whose id changed.
  std::vector<Renumbered> Remove(const Key& key) {
    auto it = slots_.find(key);
    if (it == slots_.end()) return {};
    const Slot slot = it->second;
    bool shared = false;
    for (uint32_t round = 0; round <= slot.round; ++round) {
      if (probes_[Probe(slot.hash, round)] > 1) shared = true;
    }
    if (!shared) {
      // No other key ever probed an id this key probed, so none depends on it.
      for (uint32_t round = 0; round <= slot.round; ++round) probes_.erase(Probe(slot.hash, round));
      owners_.erase(slot.id);
      slots_.erase(it);
      return {};
    }
    slots_.erase(it);
    return ReassignReportingMoves(nullptr);
  }

  // The id of `key`, 0 when absent.
  uint32_t Find(const Key& key) const {
    auto it = slots_.find(key);
    return it == slots_.end() ? 0 : it->second.id;
  }
  // The key holding `id`, nullptr when none. Valid until the key is removed.
  const Key* KeyOf(uint32_t id) const {
    auto it = owners_.find(id);
    return it == owners_.end() ? nullptr : it->second;
  }
  size_t size() const { return slots_.size(); }

  // Calls visit(key, id) for every key, in key order.
  template <typename Visit>
  void ForEach(Visit visit) const {
    for (const auto& [key, slot] : slots_) visit(key, slot.id);
  }

 private:
  struct Slot {
    uint64_t hash;
    uint32_t id;
    uint32_t round;
  };

  uint32_t Probe(uint64_t hash, uint32_t round) const {
    return static_cast<uint32_t>(first_ + MixBits(hash + round * 0x9e3779b97f4a7c15ull) % range_);
  }

  void Reassign() {
    probes_.clear();
    owners_.clear();
    std::vector<std::pair<const Key*, Slot*>> pending;
    pending.reserve(slots_.size());
    for (auto& [key, slot] : slots_) pending.emplace_back(&key, &slot);
    for (uint32_t round = 0; !pending.empty(); ++round) {
      std::vector<std::pair<const Key*, Slot*>> retry;
      // Key order: the first key to reach a free id this round is the smallest wanting it.
      for (auto& [key, slot] : pending) {
        uint32_t wanted = Probe(slot->hash, round);
        ++probes_[wanted];
        if (owners_.contains(wanted)) {
          retry.emplace_back(key, slot);
          continue;
        }
        owners_[wanted] = key;
        slot->id = wanted;
        slot->round = round;
      }
      pending = std::move(retry);
    }
  }

  std::vector<Renumbered> ReassignReportingMoves(const Key* added) {
    std::vector<std::pair<const Key*, uint32_t>> before;
    before.reserve(slots_.size());
    for (const auto& [key, slot] : slots_) {
      if (added == nullptr || key < *added || *added < key) before.emplace_back(&key, slot.id);
    }
    Reassign();
    std::vector<Renumbered> moved;
    for (const auto& [key, old_id] : before) {
      uint32_t new_id = slots_.find(*key)->second.id;
      if (new_id != old_id) moved.push_back({*key, old_id, new_id});
    }
    return moved;
  }

  uint64_t first_;
  uint64_t range_;
  std::map<Key, Slot> slots_;
  absl::flat_hash_map<uint32_t, const Key*> owners_;
  // How many keys wanted each id in some round: an id nobody wanted can be taken, and a
  // key whose ids nobody else wanted can leave, without disturbing anyone.
  absl::flat_hash_map<uint32_t, uint32_t> probes_;
};

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_CONTENT_IDS_H_
