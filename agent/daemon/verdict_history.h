// Which pod owned an address when a packet was judged: the verdict log's snapshots of the
// enforced tables, each with the monotonic instant from which the datapath used it, so an
// event is named after the tables of its packet's time (bpf_ktime_get_ns), not of the time
// it is read. An address that moves from pod A to pod B between a packet and the read is
// still logged as A.
//
// Not here: what a snapshot holds (verdict_log.h). Not thread-safe: one per reader loop.
#ifndef FLATWALL_AGENT_DAEMON_VERDICT_HISTORY_H_
#define FLATWALL_AGENT_DAEMON_VERDICT_HISTORY_H_

#include <cstdint>
#include <deque>
#include <memory>

#include "absl/time/time.h"
#include "agent/daemon/verdict_log.h"

namespace flatwall::agent {

class VerdictHistory {
 public:
  // A snapshot stays available for this long after its successor took over: events older
  // than that are read with the oldest snapshot kept. The ring buffer is drained within
  // milliseconds, so seconds are plenty.
  static constexpr absl::Duration kRetention = absl::Seconds(30);

  // Starts with an empty snapshot of `node_name` (valid from time 0): events before the
  // first Add are logged with raw numbers only.
  explicit VerdictHistory(std::string node_name);

  // `snapshot` is what the datapath enforces from monotonic instant `valid_from_ns` on.
  // Instants must not go backwards (an earlier one is treated as equal to the latest), so
  // the history stays sorted. Drops snapshots superseded more than kRetention before it.
  void Add(std::shared_ptr<const VerdictSnapshot> snapshot, uint64_t valid_from_ns);

  // The snapshot in force at monotonic instant `ktime_ns`: the newest whose valid_from is
  // at most ktime_ns, or the oldest kept when the event predates them all.
  const VerdictSnapshot& At(uint64_t ktime_ns) const;
  const VerdictSnapshot& Latest() const { return *entries_.back().snapshot; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t valid_from_ns;
    std::shared_ptr<const VerdictSnapshot> snapshot;
  };
  std::deque<Entry> entries_;  // sorted by valid_from_ns, never empty
};

// CLOCK_MONOTONIC now, in nanoseconds: the clock of bpf_ktime_get_ns().
uint64_t MonotonicNowNs();

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_VERDICT_HISTORY_H_
