/* Verdict events into the fw_events_v1 ring buffer, rate-limited per endpoint in the
 * kernel (a GCRA token bucket in fw_evrate_v1) so that a flood of drops cannot stall the
 * agent or starve other endpoints' events. Callers emit only while fw_config has
 * FW_CFG_EVENTS (a reader is attached), so with no reader the cost is one flag test.
 *
 * Not here: which decisions produce events (hook.h). */
#ifndef FLATWALL_BPF_LIB_EVENTS_H_
#define FLATWALL_BPF_LIB_EVENTS_H_

#include "lib/base.h"
#include "lib/counters.h"
#include "lib/decision.h"
#include "lib/maps.h"
#include "lib/parse.h"

/* The reader is woken only once this much is pending (~740 events); below it, records
 * are submitted without a wake-up and the reader collects them on its timer
 * (kEventDrainIntervalMs, agent/event_reader.h). Waking on every record that finds the
 * reader caught up (the kernel's default) costs an irq_work and a reader wake-up per
 * event when a fast reader keeps draining; 1/16 of the ring leaves the rest as headroom
 * while the woken reader gets scheduled. */
#define FW_EVENT_WAKEUP_BYTES (FW_EVENTS_RING_BYTES / 16)

/* A real (not inlined) function taking struct fw_event: that puts the record's type in
 * the object's BTF, where the ABI test checks its layout against the C++ compiler's. */
static __noinline void fw__event_submit(struct fw_event *event)
{
	__u64 pending = bpf_ringbuf_query(&fw_events_v1, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(event, pending >= FW_EVENT_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP
								  : BPF_RB_NO_WAKEUP);
}

/* Takes a token from the endpoint's bucket. On success returns true and moves the number
 * of events suppressed since the last emitted one into *suppressed. */
static __always_inline bool fw__event_admit(const struct fw_config *cfg,
					    const struct fw_addr *endpoint, __u64 now,
					    __u64 *suppressed)
{
	struct fw_evrate_value fresh = {.tat_ns = now};
	struct fw_evrate_value *bucket;
	__u64 interval = cfg->event_interval_ns;
	__u64 tolerance, tat;

	bucket = bpf_map_lookup_elem(&fw_evrate_v1, endpoint);
	if (!bucket) {
		bpf_map_update_elem(&fw_evrate_v1, endpoint, &fresh, BPF_NOEXIST);
		bucket = bpf_map_lookup_elem(&fw_evrate_v1, endpoint);
		if (!bucket)
			return false;
	}
	/* GCRA: admit while the theoretical arrival time is at most burst-1 intervals
	 * ahead; each admitted event pushes it one interval further. Races between CPUs
	 * can admit an extra event, never block one forever. */
	tolerance = cfg->event_burst > 1 ? interval * (cfg->event_burst - 1) : 0;
	tat = bucket->tat_ns > now ? bucket->tat_ns : now;
	if (tat - now > tolerance) {
		__sync_fetch_and_add(&bucket->suppressed, 1);
		fw_stat_add(FW_STAT_EVENTS_SUPPRESSED, 0);
		return false;
	}
	bucket->tat_ns = tat + interval;
	*suppressed = bucket->suppressed;
	if (*suppressed)
		__sync_fetch_and_sub(&bucket->suppressed, *suppressed);
	return true;
}

static __always_inline void fw_event_emit(struct __sk_buff *skb, const struct fw_config *cfg,
					  enum fw_hook hook, const struct fw_packet *pkt,
					  const struct fw_decision *d,
					  const struct fw_addr *bucket_key)
{
	const struct fw_policy_result *r = &d->result;
	__u64 now = bpf_ktime_get_ns();
	__u64 suppressed = 0;
	struct fw_event *event;

	if (!fw__event_admit(cfg, bucket_key, now, &suppressed))
		return;
	event = bpf_ringbuf_reserve(&fw_events_v1, sizeof(*event), 0);
	if (!event) {
		struct fw_evrate_value *bucket = bpf_map_lookup_elem(&fw_evrate_v1, bucket_key);

		/* The next record reports this one and those it would have carried. */
		if (bucket)
			__sync_fetch_and_add(&bucket->suppressed, suppressed + 1);
		fw_stat_add(FW_STAT_EVENTS_RING_FULL, 0);
		return;
	}
	event->timestamp_ns = now;
	fw_addr_copy(&event->saddr, &pkt->tuple.saddr);
	fw_addr_copy(&event->daddr, &pkt->tuple.daddr);
	event->sport = pkt->tuple.sport;
	event->dport = pkt->tuple.dport;
	event->protocol = pkt->tuple.protocol;
	event->direction = d->direction;
	event->verdict = r->verdict;
	event->reason = r->reason;
	event->local_identity = r->local_identity;
	event->remote_identity = r->remote_identity;
	event->rule_id = r->rule_id;
	event->cidr_class = r->cidr_class;
	event->ifindex = skb->ifindex;
	event->packet_len = skb->len;
	event->suppressed = suppressed > 0xffffffffull ? 0xffffffffu : (__u32)suppressed;
	event->hook = hook;
	event->tcp_flags = pkt->tcp_flags;
	if (pkt->icmp != FW_ICMP_NONE) {
		event->icmp_type = pkt->icmp_type;
		event->icmp_code = pkt->icmp_code;
	} else if (pkt->tuple.protocol == IPPROTO_ICMP || pkt->tuple.protocol == IPPROTO_ICMPV6) {
		event->icmp_type = FW_EVENT_ICMP_UNREAD;
		event->icmp_code = FW_EVENT_ICMP_UNREAD;
	} else {
		event->icmp_type = 0;
		event->icmp_code = 0;
	}
	fw__event_submit(event);
}

#endif /* FLATWALL_BPF_LIB_EVENTS_H_ */
