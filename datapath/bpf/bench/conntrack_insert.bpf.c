/* Benchmark targets, not product objects: only the conntrack work of an allowed new flow
 * at the to-pod hook — parse, the flow key, the lookup that misses, the entry's creation —
 * with none of the policy lookups, counters or stats. bench/datapath_bench runs them
 * behind the new-flow driver (new_flow_driver.bpf.c) against the real, pinned fw_ct_v1, so
 * the allowed-new figure can be split into "conntrack" and "everything else" in one run:
 *   fw_bench_conntrack_insert  the whole conntrack part: TC_ACT_OK after an insert,
 *                              TC_ACT_UNSPEC when the flow was already tracked (the driver's
 *                              flows never are); refused inserts count in
 *                              FW_STAT_CONNTRACK_FAILED, as the product does;
 *   fw_bench_conntrack_miss    up to the lookup that misses (what it costs to learn that a
 *                              packet starts a new flow): TC_ACT_OK on a miss, else
 *                              TC_ACT_UNSPEC; it never writes. */
#include "lib/conntrack.h"
#include "lib/counters.h"

/* Parses the packet into `key` (the to-pod view); returns whether it is a live flow. */
static __always_inline bool fw_bench__tracked(const struct fw_packet *pkt,
					      struct fw_ct_key *key, __u64 now)
{
	const struct fw_tuple *t = &pkt->tuple;
	const struct fw_ct_value *ct;

	fw_ct_key_init(key, &t->daddr, &t->saddr, t->dport, t->sport, t->protocol);
	ct = bpf_map_lookup_elem(&fw_ct_v1, key);
	return ct && fw_ct_alive(ct, t->protocol, pkt->tcp_flags, now);
}

SEC("tc")
int fw_bench_conntrack_insert(struct __sk_buff *skb)
{
	struct fw_packet pkt = {};
	struct fw_ct_key key = {};
	__u64 now = bpf_ktime_get_coarse_ns();

	if (fw_parse(skb, &pkt) != FW_REASON_NONE)
		return TC_ACT_SHOT;
	if (fw_bench__tracked(&pkt, &key, now))
		return TC_ACT_UNSPEC;
	if (!fw_ct_create(&key, FW_DIR_INGRESS, FW_REASON_RULE, 0, 0, 0, pkt.tcp_flags, skb->len,
			  now, skb->ifindex)) {
		fw_stat_add(FW_STAT_CONNTRACK_FAILED, 0);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

SEC("tc")
int fw_bench_conntrack_miss(struct __sk_buff *skb)
{
	struct fw_packet pkt = {};
	struct fw_ct_key key = {};

	if (fw_parse(skb, &pkt) != FW_REASON_NONE)
		return TC_ACT_SHOT;
	return fw_bench__tracked(&pkt, &key, bpf_ktime_get_coarse_ns()) ? TC_ACT_UNSPEC
									      : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
