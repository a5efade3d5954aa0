/* Benchmark target, not a product object: only the conntrack work of an allowed new flow
 * at the to-pod hook — parse, the flow key, the lookup that misses, the entry's creation —
 * with none of the policy lookups, counters or stats. bench/datapath_bench runs it behind
 * the new-flow driver (new_flow_driver.bpf.c) into the real, pinned fw_ct_v1, so the
 * allowed-new figure can be split into "conntrack" and "everything else" in one run.
 *
 * Returns TC_ACT_OK after an insert, TC_ACT_UNSPEC when the flow was already tracked (the
 * driver's flows never are) and counts refused inserts in FW_STAT_CONNTRACK_FAILED, as the
 * product does. */
#include "lib/conntrack.h"
#include "lib/counters.h"

SEC("tc")
int fw_bench_conntrack_insert(struct __sk_buff *skb)
{
	struct fw_packet pkt = {};
	struct fw_ct_key key = {};
	const struct fw_ct_value *ct;
	__u64 now = bpf_ktime_get_coarse_ns();
	const struct fw_tuple *t = &pkt.tuple;

	if (fw_parse(skb, &pkt) != FW_REASON_NONE)
		return TC_ACT_SHOT;
	fw_ct_key_init(&key, &t->daddr, &t->saddr, t->dport, t->sport, t->protocol);
	ct = bpf_map_lookup_elem(&fw_ct_v1, &key);
	if (ct && fw_ct_alive(ct, t->protocol, pkt.tcp_flags, now))
		return TC_ACT_UNSPEC;
	if (!fw_ct_create(&key, FW_DIR_INGRESS, FW_REASON_RULE, 0, 0, 0, pkt.tcp_flags, skb->len,
			  now, skb->ifindex)) {
		fw_stat_add(FW_STAT_CONNTRACK_FAILED, 0);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
