// ClusterSource: what the agent's loop needs from wherever the cluster state comes from
// (a manifest directory, directory_source.h; the Kubernetes API, kubernetes_source.h): a
// descriptor to poll, the changes as cluster events, and how healthy the source is, for
// the log, /readyz and /metrics.
//
// Not here: the sources themselves, applying the events (reconciler.h), the metric
// families (agent_metrics.h).
#ifndef FLATWALL_AGENT_DAEMON_CLUSTER_SOURCE_H_
#define FLATWALL_AGENT_DAEMON_CLUSTER_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "policy-compiler/cluster_state.h"

namespace flatwall::agent {

using compiler::EventBatches;

// The counters of one watched API resource ("pods"), for the flatwall_apiwatch_* metrics.
struct ResourceWatchStats {
  std::string resource;
  uint64_t lists = 0;      // complete lists: the first and every relist
  uint64_t watches = 0;    // watch requests started
  uint64_t relists = 0;    // 410 Gone answers, each followed by a relist
  uint64_t failures = 0;   // lists and watches that failed otherwise
  uint64_t malformed = 0;  // skipped watch lines and list items
  uint64_t events = 0;     // events emitted to the agent
  absl::Time last_success = absl::InfinitePast();  // of the last list or watch that went well
};

// Not thread-safe: the agent's loop calls every method from one thread.
class ClusterSource {
 public:
  virtual ~ClusterSource() = default;

  // Readable when Sync may have something new.
  virtual int fd() const = 0;

  // Whether the source holds a complete first state. A source must never hand over a
  // partial first state: a pod without its namespace's labels would be judged wrongly.
  virtual bool complete() const = 0;

  // The events that turn the state returned by earlier calls into the source's current
  // one (everything on the first call). Unavailable, with nothing consumed, before
  // complete(); other errors leave the state unchanged.
  virtual absl::StatusOr<EventBatches> Sync() = 0;

  // OK while the source reflects the cluster; otherwise why it may not (the API server
  // unreachable or refusing), for /readyz. What is enforced stays enforced either way.
  virtual absl::Status Health() const = 0;

  // The current problems, one log line each (a file that does not parse, a watch that
  // fails), sorted; the agent logs them when the list changes.
  virtual std::vector<std::string> Problems() const = 0;

  // Failed reads so far (files, lists, watches), for flatwall_source_errors_total.
  virtual uint64_t failed_reads() const = 0;

  // Per-resource counters of an API source; empty for the others.
  virtual std::vector<ResourceWatchStats> WatchStats() const { return {}; }

  // For the log: "dir:/etc/flatwall", "kubernetes https://10.100.0.1:443".
  virtual std::string Describe() const = 0;
};

// `source`.Sync()'s events in one array, in order: for updates (the agent's loop after the
// first state) and tests. Each batch is freed as soon as it is moved.
absl::StatusOr<std::vector<compiler::ClusterEvent>> SyncEvents(ClusterSource& source);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_CLUSTER_SOURCE_H_
