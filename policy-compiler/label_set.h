// LabelSet: a pod's labels as an immutable value whose storage is shared by every live
// LabelSet with the same contents (interned), because a workload's replicas carry the same
// labels: at 100k pods one std::map of strings per pod was most of the cluster model.
//
// Not here: the Labels map type itself (model.h), selector matching (selector.h).
#ifndef FLATWALL_POLICY_COMPILER_LABEL_SET_H_
#define FLATWALL_POLICY_COMPILER_LABEL_SET_H_

#include <cstddef>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>

namespace flatwall::compiler {

using Labels = std::map<std::string, std::string>;

// A read-only view of a Labels map with value semantics: copies are a reference count,
// equality is by contents. Building one from a map looks the contents up in a
// process-wide pool and shares the existing storage when another live LabelSet holds the
// same labels; the storage (and its pool entry) goes away with the last LabelSet using
// it. The pool is internal to this type and invisible in behaviour: no function's result
// depends on which LabelSets share storage. Thread-safe: LabelSets may be built, copied
// and destroyed on any thread (the API watchers decode pods on their own threads).
// To change a pod's labels, build a new map and assign it.
class LabelSet {
 public:
  using const_iterator = Labels::const_iterator;
  using value_type = Labels::value_type;

  // No labels; allocates nothing.
  LabelSet() = default;
  // Implicit, so that code which assigns a map to a pod's labels keeps reading naturally.
  LabelSet(Labels labels);  // NOLINT(google-explicit-constructor)
  LabelSet(std::initializer_list<value_type> labels) : LabelSet(Labels(labels)) {}

  // The labels as a map, for code that takes `const Labels&` (selector matching).
  const Labels& map() const { return rep_ ? *rep_ : Empty(); }
  operator const Labels&() const { return map(); }  // NOLINT(google-explicit-constructor)

  const_iterator begin() const { return map().begin(); }
  const_iterator end() const { return map().end(); }
  const_iterator find(const std::string& key) const { return map().find(key); }
  bool contains(const std::string& key) const { return map().contains(key); }
  // The value of `key`; std::out_of_range when absent (as std::map::at).
  const std::string& at(const std::string& key) const { return map().at(key); }
  size_t size() const { return map().size(); }
  bool empty() const { return map().empty(); }

  // Whether two sets share storage (for tests of the pooling; behaviour never depends on it).
  bool SharesStorageWith(const LabelSet& other) const { return rep_ == other.rep_; }

  friend bool operator==(const LabelSet& a, const LabelSet& b) {
    // Interning makes equal live sets share storage; the comparison of contents is what
    // the operator promises, so it stays the rule.
    return a.rep_ == b.rep_ || a.map() == b.map();
  }
  friend bool operator==(const LabelSet& a, const Labels& b) { return a.map() == b; }

 private:
  static const Labels& Empty();

  std::shared_ptr<const Labels> rep_;  // null for the empty set
};

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_LABEL_SET_H_
