// One datapath map's desired contents, kept sorted the way the kernel compares keys, that
// can record the net change made since recording started: the incremental compiler edits
// its tables in place and hands the agent exactly what changed.
//
// Not here: the order in which changes reach the kernel (map_image.h, MapDiff).
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_RECORDED_TABLE_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_RECORDED_TABLE_H_

#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <vector>

#include "absl/container/btree_map.h"
#include "policy-compiler/map_image.h"

namespace flatwall::compiler::internal {

// AbiLess (byte-wise order) without a libc memcmp call per comparison: big-endian loads
// of 8-byte words compare like the bytes they hold. Tables of 100k+ keys spend most of
// their time comparing keys.
template <typename T>
struct AbiLessThan {
  bool operator()(const T& a, const T& b) const {
    const auto* x = reinterpret_cast<const unsigned char*>(&a);
    const auto* y = reinterpret_cast<const unsigned char*>(&b);
    size_t i = 0;
    for (; i + 8 <= sizeof(T); i += 8) {
      uint64_t u;
      uint64_t v;
      std::memcpy(&u, x + i, 8);
      std::memcpy(&v, y + i, 8);
      if (u != v) return __builtin_bswap64(u) < __builtin_bswap64(v);
    }
    for (; i < sizeof(T); ++i) {
      if (x[i] != y[i]) return x[i] < y[i];
    }
    return false;
  }
};
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "AbiLessThan assumes a little-endian host");

template <typename Key, typename Value>
class RecordedTable {
 public:
  using Entry = MapEntry<Key, Value>;

  void Put(const Key& key, const Value& value) {
    Remember(key);
    // Keys arriving in order (a compile from scratch) are appended without a search.
    if (entries_.empty() || AbiLessThan<Key>()(std::prev(entries_.end())->first, key)) {
      entries_.emplace_hint(entries_.end(), key, value);
    } else {
      entries_[key] = value;
    }
  }
  void Erase(const Key& key) {
    if (!entries_.contains(key)) return;
    Remember(key);
    entries_.erase(key);
  }
  const Value* Find(const Key& key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }
  void Clear() {
    entries_.clear();
    originals_.clear();
    recording_ = false;
  }

  // Starts a new recording; earlier changes are forgotten.
  void StartRecording() {
    originals_.clear();
    recording_ = true;
  }
  // The net change since StartRecording (keys changed and changed back are left out),
  // sorted by key; stops recording.
  MapChanges<Entry> TakeChanges() {
    MapChanges<Entry> changes;
    for (const auto& [key, original] : originals_) {
      const Value* now = Find(key);
      if (now == nullptr) {
        if (original.has_value()) changes.deletes.push_back(key);
      } else if (!original.has_value() || !AbiEqual(*original, *now)) {
        changes.upserts.push_back({key, *now});
      }
    }
    originals_.clear();
    recording_ = false;
    return changes;
  }
  // Undoes every change since StartRecording; stops recording.
  void Rollback() {
    for (const auto& [key, original] : originals_) {
      if (original.has_value()) {
        entries_[key] = *original;
      } else {
        entries_.erase(key);
      }
    }
    originals_.clear();
    recording_ = false;
  }

  std::vector<Entry> Entries() const {
    std::vector<Entry> entries;
    entries.reserve(entries_.size());
    for (const auto& [key, value] : entries_) entries.push_back({key, value});
    return entries;
  }
  size_t size() const { return entries_.size(); }

 private:
  void Remember(const Key& key) {
    if (!recording_) return;
    auto it = entries_.find(key);
    originals_.try_emplace(key, it == entries_.end() ? std::nullopt
                                                     : std::optional<Value>(it->second));
  }

  absl::btree_map<Key, Value, AbiLessThan<Key>> entries_;
  bool recording_ = false;
  absl::btree_map<Key, std::optional<Value>, AbiLessThan<Key>> originals_;
};

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_RECORDED_TABLE_H_
