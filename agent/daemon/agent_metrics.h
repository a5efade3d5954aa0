// The metrics the node agent publishes — every flatwall_* name is defined here, once —
// and sampling the datapath-side numbers (map fill levels, verdict totals, event losses)
// into them. Label values follow the verdict log: verdict "allow"/"deny", reason the ABI
// name ("RULE", "DEFAULT_DENY"), map the pin name ("fw_ct_v1").
//
// Not here: the registry and the text format (metrics.h), serving them (http_endpoints.h).
#ifndef FLATWALL_AGENT_DAEMON_AGENT_METRICS_H_
#define FLATWALL_AGENT_DAEMON_AGENT_METRICS_H_

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/daemon/cluster_source.h"
#include "agent/daemon/metrics.h"
#include "agent/datapath.h"
#include "policy-compiler/map_image.h"

namespace flatwall::agent {

// Bucket upper bounds, in seconds, of flatwall_compile_seconds and flatwall_apply_seconds:
// 1 ms to 10 s, since a small cluster compiles in milliseconds and 100k pods in seconds.
inline constexpr double kLatencyBucketsSeconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,   0.5,   1,    2.5,   5,
                                                    10};

class AgentMetrics {
 public:
  // Registers every flatwall_* family in `registry`, which must outlive the result.
  // AlreadyExists when a second AgentMetrics uses the same registry.
  static absl::StatusOr<std::unique_ptr<AgentMetrics>> Create(MetricsRegistry& registry);

  // flatwall_endpoints (local pod addresses), flatwall_identities, flatwall_rules (policy
  // rules) of the image now enforced.
  void SetPolicyState(const compiler::MapImage& enforced);
  void ObserveCompileSeconds(double seconds);
  void ObserveApplySeconds(double seconds);
  // flatwall_source_errors_total: a manifest that failed to parse or validate, a list or
  // watch that failed.
  void AddSourceError();
  // flatwall_source_synced_timestamp_seconds: when the source was read (Unix time) for
  // the state now enforced — what an alert on "enforcement lags the source" compares
  // with the current time.
  void SetSourceSynced(absl::Time read_at);
  // flatwall_veths{state="attached"|"waiting"}: pods whose veth has the programs, and
  // pods whose veth has not appeared yet.
  void SetVeths(size_t attached, size_t waiting);
  // The flatwall_apiwatch_* families of an API source, by resource: lists, watches,
  // relists (410), failures, malformed items, events (counters mirroring the source's
  // totals) and the Unix time of the last request that went well (a gauge).
  void SetWatchStats(const std::vector<ResourceWatchStats>& stats);

  // Reads the kernel's numbers into flatwall_map_entries / flatwall_map_capacity,
  // flatwall_verdicts_total, flatwall_events_suppressed_total and
  // flatwall_ringbuf_lost_total. The policy tries (rules, CIDRs) are not walked: their
  // entry counts are the sizes of `enforced`, which the map writer made them equal to;
  // every other hash map is counted by walking its keys (datapath_stats.h), which stays
  // cheap at the sizes a node holds. Meant to run per scrape. Errors from the kernel;
  // what was read before the error is kept.
  absl::Status SampleDatapath(const Datapath& datapath, const compiler::MapImage& enforced);

 private:
  AgentMetrics() = default;

  MetricFamily* endpoints_ = nullptr;
  MetricFamily* identities_ = nullptr;
  MetricFamily* rules_ = nullptr;
  MetricFamily* map_entries_ = nullptr;
  MetricFamily* map_capacity_ = nullptr;
  MetricFamily* compile_seconds_ = nullptr;
  MetricFamily* apply_seconds_ = nullptr;
  MetricFamily* verdicts_ = nullptr;
  MetricFamily* events_suppressed_ = nullptr;
  MetricFamily* ringbuf_lost_ = nullptr;
  MetricFamily* source_errors_ = nullptr;
  MetricFamily* source_synced_ = nullptr;
  MetricFamily* veths_ = nullptr;
  MetricFamily* apiwatch_lists_ = nullptr;
  MetricFamily* apiwatch_watches_ = nullptr;
  MetricFamily* apiwatch_relists_ = nullptr;
  MetricFamily* apiwatch_failures_ = nullptr;
  MetricFamily* apiwatch_malformed_ = nullptr;
  MetricFamily* apiwatch_events_ = nullptr;
  MetricFamily* apiwatch_last_success_ = nullptr;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_AGENT_METRICS_H_
