// Aggregation of repeated identical verdicts: within an interval, the first event of a
// flow is logged at once and its repeats become one record with the time of the first
// and last repeat and their packet and byte counts, written when the interval ends. A
// flow is every field of the event but its time, length and suppressed count (same ends,
// ports, protocol, hook, verdict, reason, rule and identities).
//
// Pure (the caller passes the monotonic time). Not here: the records' content
// (verdict_log.h). Not thread-safe: one per reader loop.
#ifndef FLATWALL_AGENT_DAEMON_VERDICT_AGGREGATOR_H_
#define FLATWALL_AGENT_DAEMON_VERDICT_AGGREGATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "abi/event.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace flatwall::agent {

// What to log: one event (packets 1), or the repeats of one in an interval.
struct AggregatedVerdict {
  fw_event event;        // the first (or only) packet's event
  uint64_t packets = 1;  // events it stands for
  uint64_t bytes = 0;    // their packet_len summed
  uint64_t end_ns = 0;   // the last one's timestamp_ns (event.timestamp_ns for one)
  bool aggregate = false;
};

class VerdictAggregator {
 public:
  // Flows tracked at once; beyond it new flows are logged one record per event, which is
  // still exact (the kernel's rate limit bounds them).
  static constexpr size_t kMaxFlows = 1 << 16;

  // `interval` 0 (or negative) turns aggregation off: every event is returned as is.
  explicit VerdictAggregator(absl::Duration interval);

  // Returns what to log now for `event`: the event itself when it opens an interval for
  // its flow (after that flow's finished interval, if it had repeats), nothing when it is
  // a repeat inside the open interval.
  std::vector<AggregatedVerdict> Add(const fw_event& event);

  // Ends the intervals that started at least `interval` before `now_ns` (all of them
  // with `everything`, when the log closes) and returns the aggregates of those that had
  // repeats, oldest first.
  std::vector<AggregatedVerdict> Flush(uint64_t now_ns, bool everything = false);

  size_t open_flows() const { return windows_.size(); }

 private:
  struct Window {
    uint64_t start_ns;  // of the event that opened it (logged on its own)
    AggregatedVerdict repeats{{}, 0, 0, 0, true};  // packets 0 until the first repeat
  };
  static std::string FlowKey(const fw_event& event);

  uint64_t interval_ns_;
  absl::flat_hash_map<std::string, Window> windows_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_VERDICT_AGGREGATOR_H_
