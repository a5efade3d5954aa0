#include "policy-compiler/label_set.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

namespace flatwall::compiler {

// The live label sets by contents. The storage's last Release erases its entry before
// freeing it, so an entry never dangles. Between the last reference going and that erase,
// the entry is dead (0 references); Intern never revives it but replaces it with new
// storage, and the dying storage's erase then finds another entry and leaves it.
class LabelPool {
 public:
  using Rep = LabelSet::Rep;

  // The pool's storage for `labels` (non-empty), with one reference for the caller.
  Rep* Intern(const Labels& labels) {
    Rep* fresh = Build(labels);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(fresh);
    if (it != live_.end()) {
      if (TryAcquire(*it)) {
        Free(fresh);
        return *it;
      }
      live_.erase(it);
    }
    live_.insert(fresh);
    return fresh;
  }

  // After the last reference to `rep` went.
  void Drop(Rep* rep) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(rep);
      if (it != live_.end() && *it == rep) live_.erase(it);
    }
    Free(rep);
  }

 private:
  struct ContentsHash {
    size_t operator()(const Rep* rep) const { return rep->hash; }
  };
  struct ContentsEqual {
    bool operator()(const Rep* a, const Rep* b) const {
      if (a->count != b->count) return false;
      const uint32_t* offsets = a->offsets();
      size_t bytes = offsets[2 * a->count];
      // Equal offsets and text: the same labels (offsets fix where each key and value ends).
      return std::memcmp(offsets, b->offsets(), (2 * a->count + 1) * sizeof(uint32_t)) == 0 &&
             std::memcmp(a->text(), b->text(), bytes) == 0;
    }
  };

  static Rep* Build(const Labels& labels) {
    size_t count = labels.size();
    size_t text_bytes = 0;
    for (const auto& [key, value] : labels) text_bytes += key.size() + value.size();
    size_t offset_bytes = (2 * count + 1) * sizeof(uint32_t);
    void* block = ::operator new(sizeof(Rep) + offset_bytes + text_bytes);
    Rep* rep = new (block) Rep{{1}, static_cast<uint32_t>(count), 0};
    auto* offsets = const_cast<uint32_t*>(rep->offsets());
    char* text = const_cast<char*>(rep->text());
    uint32_t at = 0;
    size_t i = 0;
    auto append = [&](const std::string& piece) {
      offsets[i++] = at;
      std::memcpy(text + at, piece.data(), piece.size());
      at += static_cast<uint32_t>(piece.size());
    };
    for (const auto& [key, value] : labels) {
      append(key);
      append(value);
    }
    offsets[i] = at;
    rep->hash = absl::HashOf(absl::string_view(reinterpret_cast<const char*>(offsets),
                                               offset_bytes),
                             absl::string_view(text, text_bytes));
    return rep;
  }

  static bool TryAcquire(Rep* rep) {
    uint32_t references = rep->references.load(std::memory_order_relaxed);
    while (references != 0) {
      if (rep->references.compare_exchange_weak(references, references + 1,
                                                std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  static void Free(Rep* rep) {
    rep->~Rep();
    ::operator delete(rep);
  }

  std::mutex mutex_;
  absl::flat_hash_set<Rep*, ContentsHash, ContentsEqual> live_;
};

namespace {

LabelPool& Pool() {
  // Never destroyed: label sets held by other static objects may outlive any exit order.
  static LabelPool* const pool = new LabelPool();
  return *pool;
}

}  // namespace

LabelSet::LabelSet(const Labels& labels) {
  if (!labels.empty()) rep_ = Pool().Intern(labels);
}

void LabelSet::Release(Rep* rep) {
  if (rep != nullptr && rep->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    Pool().Drop(rep);
  }
}

LabelSet::const_iterator LabelSet::find(absl::string_view key) const {
  // Keys are sorted: a binary search over the label indexes.
  uint32_t low = 0;
  uint32_t high = static_cast<uint32_t>(size());
  while (low < high) {
    uint32_t middle = low + (high - low) / 2;
    if (rep_->Piece(2 * middle) < key) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  if (low < size() && rep_->Piece(2 * low) == key) return {rep_, low};
  return end();
}

absl::string_view LabelSet::at(absl::string_view key) const {
  const_iterator it = find(key);
  if (it == end()) throw std::out_of_range("LabelSet::at: no such label");
  return it->second;
}

Labels LabelSet::ToMap() const {
  Labels labels;
  for (const auto& [key, value] : *this) labels.emplace_hint(labels.end(), key, value);
  return labels;
}

bool LabelSet::Equal(const LabelSet& a, const LabelSet& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

bool operator==(const LabelSet& a, const Labels& b) {
  if (a.size() != b.size()) return false;
  auto label = a.begin();
  for (const auto& [key, value] : b) {
    if ((*label).first != key || (*label).second != value) return false;
    ++label;
  }
  return true;
}

std::strong_ordering operator<=>(const LabelSet& a, const LabelSet& b) {
  if (a.rep_ == b.rep_) return std::strong_ordering::equal;
  // As a Labels map orders: label by label, key before value, then the shorter first.
  auto left = a.begin();
  auto right = b.begin();
  for (; left != a.end() && right != b.end(); ++left, ++right) {
    for (auto [x, y] : {std::pair((*left).first, (*right).first),
                        std::pair((*left).second, (*right).second)}) {
      if (int order = x.compare(y); order != 0) return order <=> 0;
    }
  }
  return a.size() <=> b.size();
}

std::ostream& operator<<(std::ostream& out, const LabelSet& labels) {
  out << "{";
  const char* separator = "";
  for (const auto& [key, value] : labels) {
    out << separator << key << "=" << value;
    separator = ", ";
  }
  return out << "}";
}

}  // namespace flatwall::compiler
