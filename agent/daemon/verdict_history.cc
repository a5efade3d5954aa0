#include "agent/daemon/verdict_history.h"

#include <time.h>

#include <algorithm>
#include <utility>

namespace flatwall::agent {

VerdictHistory::VerdictHistory(std::string node_name) {
  entries_.push_back(
      {0, std::make_shared<const VerdictSnapshot>(compiler::MapImage{}, std::move(node_name))});
}

void VerdictHistory::Add(std::shared_ptr<const VerdictSnapshot> snapshot,
                         uint64_t valid_from_ns) {
  valid_from_ns = std::max(valid_from_ns, entries_.back().valid_from_ns);
  // Two snapshots from one instant: the later one is the datapath's state.
  if (entries_.back().valid_from_ns == valid_from_ns) entries_.pop_back();
  entries_.push_back({valid_from_ns, std::move(snapshot)});
  const uint64_t retention_ns = absl::ToInt64Nanoseconds(kRetention);
  // entries_[1] took over from entries_[0] at its valid_from.
  while (entries_.size() > 1 && entries_[1].valid_from_ns + retention_ns < valid_from_ns) {
    entries_.pop_front();
  }
}

const VerdictSnapshot& VerdictHistory::At(uint64_t ktime_ns) const {
  auto after = std::upper_bound(entries_.begin(), entries_.end(), ktime_ns,
                                [](uint64_t t, const Entry& e) { return t < e.valid_from_ns; });
  if (after == entries_.begin()) return *entries_.front().snapshot;
  return *std::prev(after)->snapshot;
}

uint64_t MonotonicNowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace flatwall::agent
