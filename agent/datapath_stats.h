// Reading what the datapath counts and tracks: per-endpoint counters and node-wide stats
// (per-CPU maps, summed here), the conntrack table, and how full each map is, for
// metrics, debugging and tests.
//
// Not here: verdict events (event_reader.h).
#ifndef FLATWALL_AGENT_DATAPATH_STATS_H_
#define FLATWALL_AGENT_DATAPATH_STATS_H_

#include <bpf/bpf.h>

#include <cstdint>
#include <string>
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
// The same from the counters map open as `counters_fd` (PinnedMaps::map_fd(kCounters)).
absl::StatusOr<fw_counter_value> ReadEndpointCounter(int counters_fd,
                                                     const compiler::IpAddress& endpoint,
                                                     fw_direction direction,
                                                     fw_reason reason);

// fw_stats_v1[index] summed over CPUs (index: enum fw_stat_index, or a reason).
// InvalidArgument for an index past FW_STATS_COUNT.
absl::StatusOr<fw_counter_value> ReadStat(const Datapath& datapath, uint32_t index);

// fw_stats_v1 for every reason: element i is enum fw_reason i (FW_REASON_COUNT elements),
// summed over CPUs. Errors from the kernel.
absl::StatusOr<std::vector<fw_counter_value>> ReadReasonTotals(const Datapath& datapath);

// The map's max_entries, as the kernel reports it. Errors from the kernel.
absl::StatusOr<uint32_t> MapCapacity(const Datapath& datapath, DatapathMap map);

// The number of keys in a hash, LRU or LPM-trie map, counted by walking its keys (one
// syscall per key, so prefer a count kept elsewhere for the large policy tries). Approximate for maps the programs change under
// the walk (capped at the capacity). InvalidArgument for arrays and the ring buffer,
// whose slots always exist; errors from the kernel.
absl::StatusOr<uint64_t> CountMapEntries(const Datapath& datapath, DatapathMap map);
// The same for any map opened by fd (e.g. from its pin); `info` from
// bpf_map_get_info_by_fd, `name` for messages.
absl::StatusOr<uint64_t> CountMapKeys(int fd, const bpf_map_info& info, const std::string& name);

struct ConntrackEntry {
  fw_ct_key key;
  fw_ct_value value;
};

// Every fw_ct_v1 entry, live or expired, in map order. Errors from the kernel.
absl::StatusOr<std::vector<ConntrackEntry>> ReadConntrack(const Datapath& datapath);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DATAPATH_STATS_H_
