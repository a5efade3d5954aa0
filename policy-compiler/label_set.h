// LabelSet: a pod's labels as an immutable value whose storage is one flat block shared by
// every live LabelSet with the same contents (interned). Replicas of a workload carry the
// same labels, and where they do not (a StatefulSet's pod-name label) a set still costs
// one allocation of its bytes instead of a std::map node per label: at 100k pods the
// labels were most of the cluster model.
//
// Not here: selector matching (selector.h), the models that hold labels (model.h).
#ifndef FLATWALL_POLICY_COMPILER_LABEL_SET_H_
#define FLATWALL_POLICY_COMPILER_LABEL_SET_H_

#include <atomic>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <map>
#include <ostream>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace flatwall::compiler {

// Labels being built (decoders, selectors' matchLabels): a plain sorted map.
using Labels = std::map<std::string, std::string>;

// A read-only set of labels with value semantics: copies are a reference count, equality
// and order are by contents (the order of a Labels map of the same labels). Building one
// looks the contents up in a process-wide pool and shares the existing storage when
// another live LabelSet holds the same labels; the storage (and its pool entry) goes away
// with the last LabelSet using it. The pool is internal to this type and invisible in
// behaviour: no function's result depends on which LabelSets share storage. Thread-safe:
// LabelSets may be built, copied and destroyed on any thread (the API watchers decode pods
// on their own threads). To change labels, build a new map and assign it.
class LabelSet {
  struct Rep;

 public:
  // A label: key and value, viewing the set's storage (valid while a LabelSet holds it).
  using value_type = std::pair<absl::string_view, absl::string_view>;

  // Labels in key order. Yields labels by value, so `auto&&`/`const auto&` bindings and
  // `it->second` work, but a reference to a label does not outlive the expression.
  class const_iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = LabelSet::value_type;
    using difference_type = std::ptrdiff_t;
    using reference = value_type;
    struct pointer {
      value_type label;
      const value_type* operator->() const { return &label; }
    };

    const_iterator() = default;
    value_type operator*() const;
    pointer operator->() const { return {**this}; }
    const_iterator& operator++() {
      ++index_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++index_;
      return before;
    }
    friend bool operator==(const const_iterator&, const const_iterator&) = default;

   private:
    friend class LabelSet;
    const_iterator(const Rep* rep, uint32_t index) : rep_(rep), index_(index) {}

    const Rep* rep_ = nullptr;
    uint32_t index_ = 0;
  };

  // No labels; allocates nothing.
  LabelSet() = default;
  // Implicit, so that code which assigns a map to a pod's labels keeps reading naturally.
  LabelSet(const Labels& labels);  // NOLINT(google-explicit-constructor)
  LabelSet(std::initializer_list<Labels::value_type> labels) : LabelSet(Labels(labels)) {}

  LabelSet(const LabelSet& other) : rep_(other.rep_) { Acquire(rep_); }
  LabelSet(LabelSet&& other) noexcept : rep_(std::exchange(other.rep_, nullptr)) {}
  LabelSet& operator=(LabelSet other) noexcept {
    std::swap(rep_, other.rep_);
    return *this;
  }
  ~LabelSet() { Release(rep_); }

  const_iterator begin() const { return {rep_, 0}; }
  const_iterator end() const { return {rep_, static_cast<uint32_t>(size())}; }
  // The label with `key`, or end().
  const_iterator find(absl::string_view key) const;
  bool contains(absl::string_view key) const { return find(key) != end(); }
  // The value of `key`; std::out_of_range when absent (as std::map::at).
  absl::string_view at(absl::string_view key) const;
  size_t size() const;
  bool empty() const { return rep_ == nullptr; }

  // A copy as a map (JSON output, code that edits labels).
  Labels ToMap() const;

  // Whether two sets share storage (for tests of the pooling; behaviour never depends on it).
  bool SharesStorageWith(const LabelSet& other) const { return rep_ == other.rep_; }

  friend bool operator==(const LabelSet& a, const LabelSet& b) {
    // Interning makes equal live sets share storage; the comparison of contents is what
    // the operator promises, so it stays the rule.
    return a.rep_ == b.rep_ || Equal(a, b);
  }
  friend bool operator==(const LabelSet& a, const Labels& b);
  friend std::strong_ordering operator<=>(const LabelSet& a, const LabelSet& b);
  friend std::ostream& operator<<(std::ostream& out, const LabelSet& labels);
  // nlohmann::json (found by ADL) would write a set as an array of [key, value] pairs, not
  // the object Kubernetes users read: the implicit conversion is refused; use ToMap().
  template <typename Json>
  friend void to_json(Json&, const LabelSet&) = delete;

 private:
  // The storage: this header, then 2 * count + 1 offsets into the text (label i's key is
  // [offsets[2i], offsets[2i+1]), its value [offsets[2i+1], offsets[2i+2])), then the text.
  struct Rep {
    std::atomic<uint32_t> references;
    uint32_t count;
    size_t hash;  // of the contents, for the pool

    const uint32_t* offsets() const { return reinterpret_cast<const uint32_t*>(this + 1); }
    const char* text() const { return reinterpret_cast<const char*>(offsets() + 2 * count + 1); }
    absl::string_view Piece(uint32_t i) const {
      return absl::string_view(text() + offsets()[i], offsets()[i + 1] - offsets()[i]);
    }
    value_type Label(uint32_t i) const { return {Piece(2 * i), Piece(2 * i + 1)}; }
  };
  friend class LabelPool;

  static void Acquire(Rep* rep) {
    if (rep != nullptr) rep->references.fetch_add(1, std::memory_order_relaxed);
  }
  static void Release(Rep* rep);
  static bool Equal(const LabelSet& a, const LabelSet& b);

  Rep* rep_ = nullptr;  // null for the empty set
};

inline LabelSet::value_type LabelSet::const_iterator::operator*() const {
  return rep_->Label(index_);
}

inline size_t LabelSet::size() const { return rep_ == nullptr ? 0 : rep_->count; }

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_LABEL_SET_H_
