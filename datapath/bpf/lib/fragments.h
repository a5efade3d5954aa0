/* IP fragments. Only a datagram's first fragment carries the transport header, so it is
 * judged like any packet and its verdict is remembered in fw_frags_v1 under (source,
 * destination, IP id, protocol, hook direction); the later fragments take that verdict.
 * A later fragment whose first fragment was not seen (reordered, or older than the
 * lifetime) is dropped with FW_REASON_FRAGMENT: ports are never guessed.
 *
 * Not here: recognising fragments (parse.h). */
#ifndef FLATWALL_BPF_LIB_FRAGMENTS_H_
#define FLATWALL_BPF_LIB_FRAGMENTS_H_

#include "lib/base.h"
#include "lib/counters.h"
#include "lib/decision.h"
#include "lib/maps.h"
#include "lib/parse.h"

static __always_inline void fw__frag_key(struct fw_frag_key *key, const struct fw_packet *pkt,
					 __u8 direction)
{
	fw_addr_copy(&key->saddr, &pkt->tuple.saddr);
	fw_addr_copy(&key->daddr, &pkt->tuple.daddr);
	key->id = pkt->frag_id;
	key->protocol = pkt->tuple.protocol;
	key->direction = direction;
}

/* A later fragment: the verdict of its first fragment, Service mark included. */
static __always_inline void fw_frag_decide(struct __sk_buff *skb, const struct fw_config *cfg,
					   const struct fw_packet *pkt, __u8 direction,
					   struct fw_decision *d)
{
	struct fw_frag_key key = {};
	const struct fw_frag_value *first;

	fw__frag_key(&key, pkt, direction);
	first = bpf_map_lookup_elem(&fw_frags_v1, &key);
	if (!first ||
	    (__s64)(bpf_ktime_get_coarse_ns() - first->first_seen_ns) > (__s64)FW_FRAGMENT_LIFETIME_NS) {
		fw_decision_set(d, FW_VERDICT_DENY, FW_REASON_FRAGMENT);
		return;
	}
	fw_decision_set(d, first->verdict, first->reason);
	d->result.rule_id = first->rule_id;
	if (first->flags & FW_FRAG_SERVICE_MARK) {
		skb->mark |= cfg->service_mark;
		d->service_mark = 1;
	}
}

/* A first fragment: remember its verdict for the later ones. */
static __always_inline void fw_frag_record(const struct fw_packet *pkt, __u8 direction,
					   const struct fw_decision *d)
{
	struct fw_frag_key key = {};
	struct fw_frag_value value = {
		.first_seen_ns = bpf_ktime_get_coarse_ns(),
		.rule_id = d->result.rule_id,
		.verdict = d->result.verdict,
		.reason = d->result.reason,
		.flags = d->service_mark ? FW_FRAG_SERVICE_MARK : 0,
	};

	fw__frag_key(&key, pkt, direction);
	if (bpf_map_update_elem(&fw_frags_v1, &key, &value, BPF_ANY) != 0)
		fw_stat_add(FW_STAT_FRAGMENTS_FAILED, 0);
}

#endif /* FLATWALL_BPF_LIB_FRAGMENTS_H_ */
