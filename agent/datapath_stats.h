// Reading what the datapath counts and tracks: per-endpoint counters and node-wide stats
// (per-CPU maps, summed here) and the conntrack table, for metrics, debugging and tests.
//
// Not here: verdict events (event_reader.h).
#ifndef FLATWALL_AGENT_DATAPATH_STATS_H_
#define FLATWALL_AGENT_DATAPATH_STATS_H_

#include <cstdint>
#include <vector>

#include "abi/datapath_maps.h"
#include "abi/verdict.h"
#include "absl/status/statusor.h"
#include "agent/datapath.h"
#include "policy-compiler/ip_prefix.h"

namespace flatwall::agent {

// The counter of (endpoint, direction, reason) summed over CPUs; zero when the datapath
// has not counted such a packet. Errors from the kernel.
absl::StatusOr<fw_counter_value> ReadEndpointCounter(const Datapath& datapath,
                                                     const compiler::IpAddress& endpoint,
                                                     fw_direction direction,
                                                     fw_reason reason);

// fw_stats_v1[index] summed over CPUs (index: enum fw_stat_index, or a reason).
// InvalidArgument for an index past FW_STATS_COUNT.
absl::StatusOr<fw_counter_value> ReadStat(const Datapath& datapath, uint32_t index);

struct ConntrackEntry {
  fw_ct_key key;
  fw_ct_value value;
};

// Every fw_ct_v1 entry, live or expired, in map order. Errors from the kernel.
absl::StatusOr<std::vector<ConntrackEntry>> ReadConntrack(const Datapath& datapath);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DATAPATH_STATS_H_
