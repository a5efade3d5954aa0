#include "policy-compiler/label_set.h"

#include <mutex>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"

namespace flatwall::compiler {
namespace {

// Hashes and compares the maps the keys point to, so that a lookup by contents finds the
// live storage of equal labels.
struct ContentsHash {
  size_t operator()(const Labels* labels) const { return absl::HashOf(*labels); }
};
struct ContentsEqual {
  bool operator()(const Labels* a, const Labels* b) const { return *a == *b; }
};

// The live label sets by contents. An entry's key points into the storage its weak_ptr
// watches; the storage's deleter removes the entry before freeing it, so a key never
// dangles. Between the last owner's release and that deleter, the entry is expired, and
// Intern replaces it with new storage; the deleter then finds another key and leaves it.
class LabelPool {
 public:
  std::shared_ptr<const Labels> Intern(Labels labels) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(&labels);
    if (it != live_.end()) {
      if (std::shared_ptr<const Labels> shared = it->second.lock()) return shared;
      live_.erase(it);
    }
    std::shared_ptr<const Labels> shared(new Labels(std::move(labels)),
                                         [this](const Labels* dying) { Release(dying); });
    live_.emplace(shared.get(), shared);
    return shared;
  }

 private:
  void Release(const Labels* dying) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(dying);
      if (it != live_.end() && it->first == dying) live_.erase(it);
    }
    delete dying;
  }

  std::mutex mutex_;
  absl::flat_hash_map<const Labels*, std::weak_ptr<const Labels>, ContentsHash, ContentsEqual>
      live_;
};

LabelPool& Pool() {
  // Never destroyed: label sets held by other static objects may outlive any exit order.
  static LabelPool* const pool = new LabelPool();
  return *pool;
}

}  // namespace

LabelSet::LabelSet(Labels labels) {
  if (!labels.empty()) rep_ = Pool().Intern(std::move(labels));
}

const Labels& LabelSet::Empty() {
  static const Labels* const empty = new Labels();
  return *empty;
}

}  // namespace flatwall::compiler
