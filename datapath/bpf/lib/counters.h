/* Counters: node-wide packets/bytes by reason and datapath health (fw_stats_v1, a per-CPU
 * array: one inlined lookup), and per endpoint, direction and reason (fw_counters_v1, a
 * per-CPU hash, off the established path).
 *
 * Not here: per-flow counters, which live in the conntrack entry (conntrack.h). */
#ifndef FLATWALL_BPF_LIB_COUNTERS_H_
#define FLATWALL_BPF_LIB_COUNTERS_H_

#include "lib/base.h"
#include "lib/maps.h"

/* Per-CPU values: plain adds are exact (no other CPU writes this slot). */
static __always_inline void fw_stat_add(__u32 index, __u32 len)
{
	struct fw_counter_value *stat = bpf_map_lookup_elem(&fw_stats_v1, &index);

	if (stat) {
		stat->packets++;
		stat->bytes += len;
	}
}

static __always_inline void fw_count_endpoint(const struct fw_addr *endpoint, __u8 direction,
					      __u8 reason, __u32 len)
{
	struct fw_counter_key key = {.direction = direction, .reason = reason};
	struct fw_counter_value first = {.packets = 1, .bytes = len};
	struct fw_counter_value *counter;

	fw_addr_copy(&key.endpoint, endpoint);
	counter = bpf_map_lookup_elem(&fw_counters_v1, &key);
	if (fw_likely(counter != NULL)) {
		counter->packets++;
		counter->bytes += len;
		return;
	}
	if (bpf_map_update_elem(&fw_counters_v1, &key, &first, BPF_NOEXIST) == 0)
		return;
	/* Lost a race with another CPU creating the key, or the map is full. */
	counter = bpf_map_lookup_elem(&fw_counters_v1, &key);
	if (counter) {
		counter->packets++;
		counter->bytes += len;
		return;
	}
	fw_stat_add(FW_STAT_COUNTERS_FULL, len);
}

#endif /* FLATWALL_BPF_LIB_COUNTERS_H_ */
