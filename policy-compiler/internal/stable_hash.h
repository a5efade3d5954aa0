// A hash that is stable across processes, builds and machines, for content-addressed ids
// (identities, CIDR classes, rulesets, rule ids): the same content must give the same id on
// every node and after every restart. absl::Hash is salted per process, so it cannot serve.
//
// Not here: turning a hash into a unique id (content_ids.h). Not cryptographic.
#ifndef FLATWALL_POLICY_COMPILER_INTERNAL_STABLE_HASH_H_
#define FLATWALL_POLICY_COMPILER_INTERNAL_STABLE_HASH_H_

#include <cstddef>
#include <cstdint>
#include "absl/strings/string_view.h"
#include "policy-compiler/label_set.h"

namespace flatwall::compiler::internal {

// The 64-bit finalizer of SplitMix64: spreads every input bit over the output.
uint64_t MixBits(uint64_t value);

// A 64-bit hash over a canonical, self-delimiting serialization: every variable-length
// field is length-prefixed, so different field sequences never feed the same bytes.
class StableHasher {
 public:
  StableHasher& AddBytes(const void* data, size_t size);
  StableHasher& AddInt(uint64_t value);
  StableHasher& AddString(absl::string_view text);  // length-prefixed
  // The count, then each key and value as AddString, in key order.
  StableHasher& AddLabels(const LabelSet& labels);

  uint64_t Finish() const { return MixBits(state_); }

 private:
  uint64_t state_ = 0xcbf29ce484222325ull;  // the FNV-1a 64-bit offset basis
};

}  // namespace flatwall::compiler::internal

#endif  // FLATWALL_POLICY_COMPILER_INTERNAL_STABLE_HASH_H_
