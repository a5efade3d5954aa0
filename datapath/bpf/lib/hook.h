/* The per-packet pipeline every entry program runs, parameterised by its attach point
 * (enum fw_hook, a constant per program, so the compiler drops the other hooks' branches).
 *
 * Precedence, first match wins (docs/datapath.md, "Verdict precedence"):
 *   uplink: packets without the Service mark pass untouched (not even counted);
 *   a. not IP -> ALLOW NOT_IP; a malformed header -> DROP with its reason;
 *   a2. from-pod: a source address not bound to the veth -> DROP SPOOFED (neighbour
 *      discovery from :: or fe80::/10 excepted; an unbound veth fails closed); a packet
 *      of a flow whose conntrack entry was made on this veth needs no fw_veth_v1 lookup;
 *   b. ICMPv6 neighbour discovery -> ALLOW NEIGHBOR_DISCOVERY;
 *   c. a later fragment -> the verdict of its first fragment, else DROP FRAGMENT;
 *   d. uplink: judge the egress of the source pod (its own flow), then stop;
 *   e. an ICMP error quoting a live flow of this endpoint -> ALLOW RELATED;
 *   f. to-pod with the Service mark: judge the source pod's egress first (a drop ends it);
 *   g. conntrack hit -> ALLOW ESTABLISHED (after re-judging a flow of an older policy
 *      generation: DROP REVOKED if the current tables deny it);
 *   h. no endpoint -> ALLOW NO_ENDPOINT; from-pod to a Service address -> ALLOW
 *      SERVICE_DEFERRED; otherwise the policy lookup (policy.h), recording allowed flows.
 *
 * Not here: the steps themselves (parse.h, conntrack.h, policy.h, fragments.h). */
#ifndef FLATWALL_BPF_LIB_HOOK_H_
#define FLATWALL_BPF_LIB_HOOK_H_

#include "lib/base.h"
#include "lib/conntrack.h"
#include "lib/counters.h"
#include "lib/decision.h"
#include "lib/events.h"
#include "lib/fragments.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/source_check.h"

static __always_inline bool fw__is_icmp(__u8 protocol)
{
	return protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6;
}

/* Step e: an ICMP error about a flow this endpoint tracks. The quoted packet travelled
 * the other way, so at the to-pod hook the endpoint is its source, at the from-pod hook
 * its destination; the quote must name this endpoint, so one pod cannot be sent errors
 * "about" another pod's flows. */
static __always_inline bool fw__related(const struct fw_packet *pkt, enum fw_hook hook,
					__u64 now)
{
	const struct fw_tuple *in = &pkt->inner;
	struct fw_ct_key key = {};
	const struct fw_ct_value *ct;

	if (hook == FW_HOOK_TO_POD) {
		if (!fw_addr_equal(&in->saddr, &pkt->tuple.daddr))
			return false;
		fw_ct_key_init(&key, &in->saddr, &in->daddr, in->sport, in->dport, in->protocol);
	} else {
		if (!fw_addr_equal(&in->daddr, &pkt->tuple.saddr))
			return false;
		fw_ct_key_init(&key, &in->daddr, &in->saddr, in->dport, in->sport, in->protocol);
	}
	ct = bpf_map_lookup_elem(&fw_ct_v1, &key);
	return ct && fw_ct_alive(ct, in->protocol, 0, now);
}

/* The from-pod hook's conntrack lookup, made at step a2 (its entry can prove the source
 * address) and reused, key and result, by step g instead of a second lookup. */
struct fw_ct_early {
	struct fw_ct_key key;
	struct fw_ct_value *ct;
	bool done;
};

/* Step a2's shortcut: the packet's flow has an entry made on this veth. Only a packet
 * from the veth's own pod, or to an address the node routes into the veth, makes one
 * (fw__judge's `veth`), so the source address is the pod's. */
static __always_inline bool fw__source_proven(const struct __sk_buff *skb,
					      const struct fw_packet *pkt,
					      struct fw_ct_early *early)
{
	const struct fw_tuple *t = &pkt->tuple;

	if (pkt->fragment == FW_FRAG_LATER)
		return false;
	fw_ct_key_init(&early->key, &t->saddr, &t->daddr, t->sport, t->dport, t->protocol);
	early->ct = bpf_map_lookup_elem(&fw_ct_v1, &early->key);
	early->done = true;
	return early->ct && fw_ct_made_on_veth(early->ct, skb->ifindex);
}

/* Steps g and h for one endpoint's side of the packet: the local endpoint is the
 * packet's source (`local_is_src`) or destination, judged in `direction`. `veth` is
 * recorded in a new entry: the packet's veth when the local endpoint sits behind it, else
 * 0. `early`, when not NULL and done, is step a2's lookup of the same key (its key and
 * entry are used as they are). */
static __always_inline void fw__judge(struct __sk_buff *skb, const struct fw_config *cfg,
				      const struct fw_packet *pkt, __u64 now, __u8 direction,
				      bool local_is_src, bool service_deferral, __u32 veth,
				      const struct fw_ct_early *early, struct fw_decision *d)
{
	const struct fw_tuple *t = &pkt->tuple;
	const struct fw_addr *local = local_is_src ? &t->saddr : &t->daddr;
	const struct fw_addr *remote = local_is_src ? &t->daddr : &t->saddr;
	__be16 rule_port = fw__is_icmp(t->protocol) ? 0 : t->dport;
	const struct fw_endpoint_value *ep;
	struct fw_ct_key own_key = {};
	const struct fw_ct_key *key = &own_key;
	struct fw_ct_value *ct;

	d->local_is_src = local_is_src;
	d->direction = direction;

	/* Step g. */
	if (early && early->done) {
		key = &early->key;
		ct = early->ct;
	} else {
		fw_ct_key_init(&own_key, local, remote, local_is_src ? t->sport : t->dport,
			       local_is_src ? t->dport : t->sport, t->protocol);
		ct = bpf_map_lookup_elem(&fw_ct_v1, &own_key);
	}
	if (ct && fw_ct_alive(ct, t->protocol, pkt->tcp_flags, now)) {
		__u32 ct_dir = ct->origin == direction ? FW_CT_ORIGINAL : FW_CT_REPLY;

		d->endpoint_known = 1;
		if (fw_unlikely(ct->generation != cfg->generation) && !(ct->flags & FW_CT_SERVICE)) {
			/* Re-judge the flow as its first packet: same direction, same port. */
			__u8 origin = ct->origin;
			struct fw_policy_query q = {
				.local = local,
				.remote = remote,
				.direction = origin,
				.protocol = t->protocol,
				.port = fw__is_icmp(t->protocol) ? 0
				       : origin == FW_DIR_EGRESS ? key->remote_port : key->local_port,
			};

			fw_policy_lookup(&q, &d->result);
			if (d->result.verdict != FW_VERDICT_ALLOW) {
				bpf_map_delete_elem(&fw_ct_v1, key);
				d->result.reason = FW_REASON_REVOKED;
				d->direction = origin;
				return;
			}
			ct->generation = cfg->generation;
			ct->rule_id = d->result.rule_id;
		}
		fw_ct_refresh(ct, cfg, ct_dir, pkt->tcp_flags, skb->len, now);
		if ((ct->flags & FW_CT_SERVICE) && ct_dir == FW_CT_ORIGINAL) {
			skb->mark |= cfg->service_mark;
			d->service_mark = 1;
		}
		fw_decision_set(d, FW_VERDICT_ALLOW, FW_REASON_ESTABLISHED);
		d->result.rule_id = ct->rule_id;
		d->flow_hit = 1;
		return;
	}

	/* Step h: a new flow (or one whose entry expired). */
	ep = fw_endpoint_lookup(local);
	if (!ep) {
		fw_decision_set(d, FW_VERDICT_ALLOW, FW_REASON_NO_ENDPOINT);
		return;
	}
	d->endpoint_known = 1;
	if (service_deferral && bpf_map_lookup_elem(&fw_services_v1, remote)) {
		fw_decision_set(d, FW_VERDICT_ALLOW, FW_REASON_SERVICE_DEFERRED);
		d->result.local_identity = ep->identity;
		d->result.log_allowed = !!(ep->flags & FW_EP_LOG_ALLOWED);
		skb->mark |= cfg->service_mark;
		d->service_mark = 1;
	} else {
		struct fw_policy_query q = {
			.local = local,
			.remote = remote,
			.direction = direction,
			.protocol = t->protocol,
			.port = rule_port,
		};

		fw_policy_decide(ep, &q, &d->result);
		if (d->result.verdict != FW_VERDICT_ALLOW)
			return;
	}
	if (!fw_ct_create(key, direction, d->result.reason, d->service_mark ? FW_CT_SERVICE : 0,
			  cfg->generation, d->result.rule_id, pkt->tcp_flags, skb->len, now, veth)) {
		fw_stat_add(FW_STAT_CONNTRACK_FAILED, 0);
		return;
	}
	d->new_flow = 1;
}

/* Per-endpoint counter and event for one decision. Decisions that no endpoint owns
 * (NO_ENDPOINT, NOT_IP, ND) are counted node-wide only; drops before an endpoint was
 * looked up are attributed to the local address if it is an endpoint, else to the zero
 * address, so a pod sending garbage from random source addresses cannot fill the maps. */
static __always_inline void fw__account(struct __sk_buff *skb, const struct fw_config *cfg,
					enum fw_hook hook, const struct fw_packet *pkt,
					const struct fw_decision *d)
{
	const struct fw_policy_result *r = &d->result;
	struct fw_addr unattributed FW_ADDR_ALIGN = {};
	const struct fw_addr *endpoint = fw_decision_local(d, &pkt->tuple);

	switch (r->reason) {
	case FW_REASON_NO_ENDPOINT:
	case FW_REASON_NOT_IP:
	case FW_REASON_NEIGHBOR_DISCOVERY:
		return;
	}
	if (d->flow_hit)
		goto event;
	/* A forged source is not the pod it names: never charge that pod. */
	if (r->reason == FW_REASON_SPOOFED || (!d->endpoint_known && !fw_endpoint_lookup(endpoint)))
		endpoint = &unattributed;
	fw_count_endpoint(endpoint, d->direction, r->reason, skb->len);
event:
	if (!(cfg->flags & FW_CFG_EVENTS))
		return;
	if (r->verdict == FW_VERDICT_ALLOW &&
	    !(d->new_flow && (r->log_allowed || (cfg->flags & FW_CFG_LOG_ALLOWED))))
		return;
	fw_event_emit(skb, cfg, hook, pkt, d, endpoint);
}

/* Counts, logs and records the decision, leaves it in skb->cb and returns the TC action.
 * A BPF subprogram, not inlined: every step of fw_handle ends here, and inlined, clang
 * kept the decision's fields in registers and re-materialised all of them at each of those
 * exits (the same cost as an inlined fw_parse); taking `d` by address keeps it in one
 * stack slot that each step writes once. */
static __noinline int fw__finish(struct __sk_buff *skb, const struct fw_config *cfg,
				 enum fw_hook hook, const struct fw_packet *pkt,
				 const struct fw_decision *d)
{
	const struct fw_policy_result *r = &d->result;

	fw_stat_add(FW_STAT_REASON_FIRST + r->reason, skb->len);
	fw__account(skb, cfg, hook, pkt, d);
	if (pkt->fragment == FW_FRAG_FIRST)
		fw_frag_record(pkt, hook == FW_HOOK_TO_POD ? FW_DIR_INGRESS : FW_DIR_EGRESS, d);
	skb->cb[FW_CB_REASON] = r->reason;
	skb->cb[FW_CB_RULE_ID] = r->rule_id;
	skb->cb[FW_CB_LOCAL_IDENTITY] = r->local_identity;
	skb->cb[FW_CB_REMOTE_IDENTITY] = r->remote_identity;
	skb->cb[FW_CB_DIRECTION] = d->direction;
	return r->verdict == FW_VERDICT_ALLOW ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Steps c to h for a parsed IP packet. */
static __always_inline void fw__decide(struct __sk_buff *skb, const struct fw_config *cfg,
				       enum fw_hook hook, const struct fw_packet *pkt,
				       const struct fw_ct_early *early, struct fw_decision *d)
{
	__u64 now = bpf_ktime_get_coarse_ns();

	/* Step c. */
	if (pkt->fragment == FW_FRAG_LATER) {
		fw_frag_decide(skb, cfg, pkt, d->direction, d);
		return;
	}
	/* Step d. */
	if (hook == FW_HOOK_UPLINK) {
		fw__judge(skb, cfg, pkt, now, FW_DIR_EGRESS, true, false, 0, NULL, d);
		return;
	}
	/* Step e. */
	if (pkt->icmp == FW_ICMP_ERROR && pkt->inner.valid && fw__related(pkt, hook, now)) {
		fw_decision_set(d, FW_VERDICT_ALLOW, FW_REASON_RELATED);
		d->endpoint_known = 1;
		return;
	}
	/* Step f: kube-proxy has replaced a Service address by this backend; the client's
	 * egress was deferred to here. */
	if (hook == FW_HOOK_TO_POD && (skb->mark & cfg->service_mark)) {
		struct fw_decision source = {};

		fw__judge(skb, cfg, pkt, now, FW_DIR_EGRESS, true, false, 0, NULL, &source);
		if (source.result.verdict != FW_VERDICT_ALLOW) {
			*d = source;
			return;
		}
		if (source.new_flow)
			fw__account(skb, cfg, hook, pkt, &source);
	}
	/* Steps g and h. */
	if (hook == FW_HOOK_TO_POD)
		fw__judge(skb, cfg, pkt, now, FW_DIR_INGRESS, false, false, skb->ifindex, NULL, d);
	else
		fw__judge(skb, cfg, pkt, now, FW_DIR_EGRESS, true, true, skb->ifindex, early, d);
}

static __always_inline int fw_handle(struct __sk_buff *skb, const enum fw_hook hook)
{
	const __u32 zero = 0;
	const struct fw_config *cfg = bpf_map_lookup_elem(&fw_config_v1, &zero);
	struct fw_packet pkt = {};
	struct fw_decision d = {};
	struct fw_ct_early early = {};
	int reason;

	if (!cfg) /* an array always has index 0 */
		return TC_ACT_OK;
	if (hook == FW_HOOK_UPLINK && !(skb->mark & cfg->service_mark))
		return TC_ACT_OK;
	d.direction = hook == FW_HOOK_TO_POD ? FW_DIR_INGRESS : FW_DIR_EGRESS;
	d.local_is_src = hook != FW_HOOK_TO_POD;

	/* Steps a and b. */
	reason = fw_parse(skb, &pkt);
	if (reason == FW_REASON_NOT_IP)
		fw_decision_set(&d, FW_VERDICT_ALLOW, FW_REASON_NOT_IP);
	else if (reason != FW_REASON_NONE)
		fw_decision_set(&d, FW_VERDICT_DENY, reason);
	else if (hook == FW_HOOK_FROM_POD && !fw__source_proven(skb, &pkt, &early) &&
		 !fw_source_allowed(skb, &pkt))
		fw_decision_set(&d, FW_VERDICT_DENY, FW_REASON_SPOOFED);
	else if (pkt.icmp == FW_ICMP_ND)
		fw_decision_set(&d, FW_VERDICT_ALLOW, FW_REASON_NEIGHBOR_DISCOVERY);
	else
		fw__decide(skb, cfg, hook, &pkt, &early, &d);
	return fw__finish(skb, cfg, hook, &pkt, &d);
}

#endif /* FLATWALL_BPF_LIB_HOOK_H_ */
