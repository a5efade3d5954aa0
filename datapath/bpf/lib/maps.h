/* Definitions of every map, shared by all entry objects. Each map is pinned by name under
 * the agent's pin root, so the objects of the three attach points share one instance, and
 * a restarted agent adopts the maps (and the flows and counters in them).
 *
 * Keys, values, capacities, writers and readers are documented at each struct in
 * abi/policy_maps.h and abi/datapath_maps.h; a map's name is its FW_PIN_* string (a test
 * checks that). Not here: code that uses them (the other lib/ modules). */
#ifndef FLATWALL_BPF_LIB_MAPS_H_
#define FLATWALL_BPF_LIB_MAPS_H_

#include "lib/base.h"

/* ---- policy tables: written by the agent from the compiler's image ---- */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FW_MAX_ENDPOINTS);
	__type(key, struct fw_endpoint_key);
	__type(value, struct fw_endpoint_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_endpoints_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FW_MAX_IPCACHE);
	__type(key, struct fw_ipcache_key);
	__type(value, struct fw_ipcache_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_ipcache_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FW_MAX_CIDRS);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
	__type(key, struct fw_cidr_key);
	__type(value, struct fw_cidr_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_cidrs_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FW_MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* 1M preallocated entries would pin ~100 MB */
	__type(key, struct fw_rule_key);
	__type(value, struct fw_rule_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_rules_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FW_MAX_RULE_RANGES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fw_rule_key);
	__type(value, struct fw_rule_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_ranges_v1 SEC(".maps");

/* ---- written by the agent for the datapath ---- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fw_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_config_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FW_MAX_SERVICES);
	__type(key, struct fw_service_key);
	__type(value, struct fw_service_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_services_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_VETH_ARRAY_SLOTS);
	__type(key, __u32);
	__type(value, struct fw_veth_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_veth_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FW_MAX_VETH_BIG);
	__type(key, __u32);
	__type(value, struct fw_veth_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_veth_big_v1 SEC(".maps");

/* ---- the datapath's own state ---- */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FW_MAX_CONNTRACK);
	__type(key, struct fw_ct_key);
	__type(value, struct fw_ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_ct_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FW_MAX_FRAGMENTS);
	__type(key, struct fw_frag_key);
	__type(value, struct fw_frag_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_frags_v1 SEC(".maps");

/* Not preallocated: a preallocated per-CPU hash costs max_entries x CPUs x 16 bytes. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FW_MAX_COUNTERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fw_counter_key);
	__type(value, struct fw_counter_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_counters_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FW_STATS_COUNT);
	__type(key, __u32);
	__type(value, struct fw_counter_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_stats_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FW_MAX_EVENT_RATE);
	__type(key, struct fw_evrate_key);
	__type(value, struct fw_evrate_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_evrate_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FW_EVENTS_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fw_events_v1 SEC(".maps");

#endif /* FLATWALL_BPF_LIB_MAPS_H_ */
