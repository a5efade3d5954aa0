/* The per-packet policy decision: endpoint, remote identity, rule lookups. Written once
 * here; the compiler's userspace policy_lookup implements the same steps in the same
 * order, so `flatwall matrix` and the datapath cannot disagree.
 *
 *   1. endpoint = fw_endpoints[local address]; missing -> ALLOW, NO_ENDPOINT.
 *   2. remote: fw_ipcache[remote address] -> {identity, cidr_class}; on a miss the
 *      identity is WORLD and the class the longest fw_cidrs prefix holding it (0: none).
 *   3. remote identity HOST -> ALLOW, HOST.
 *   4. the endpoint is not isolated in this direction -> ALLOW, NOT_ISOLATED.
 *   5. rule lookups for each remote kind the endpoint's rule_kinds for the direction has,
 *      in order: (IDENTITY, identity) unless WORLD; (CIDR, class) unless 0; (ANY, 0). For
 *      each, the shapes present, most specific first: fw_rules with the exact port,
 *      fw_ranges (longest match), fw_rules with any port, fw_rules with any
 *      protocol. First hit whose action is ALLOW -> ALLOW, RULE, its rule_id (and its
 *      FW_RULE_LOG_ALLOWED flag joins the endpoint's FW_EP_LOG_ALLOWED in log_allowed).
 *   6. otherwise DENY, DEFAULT_DENY.
 *
 * Not here: conntrack (conntrack.h), which runs before step 2 on the hot path. */
#ifndef FLATWALL_BPF_LIB_POLICY_H_
#define FLATWALL_BPF_LIB_POLICY_H_

#include "lib/base.h"
#include "lib/maps.h"

struct fw_policy_result {
	__u8 verdict;         /* enum fw_verdict */
	__u8 reason;          /* enum fw_reason */
	__u8 log_allowed;     /* the endpoint or the allowing rule asks for events of allowed
				 new flows (FW_EP_LOG_ALLOWED, FW_RULE_LOG_ALLOWED) */
	__u8 pad;
	__u32 rule_id;
	__u32 local_identity;
	__u32 remote_identity;
	__u32 cidr_class;
};

/* The flow a decision is about, from the local endpoint's side. */
struct fw_policy_query {
	const struct fw_addr *local;
	const struct fw_addr *remote;
	__u8 direction; /* enum fw_direction */
	__u8 protocol;
	__be16 port;    /* destination port, network order; 0 for ICMP */
};

/* Step 1. */
static __always_inline const struct fw_endpoint_value *fw_endpoint_lookup(const struct fw_addr *addr)
{
	return bpf_map_lookup_elem(&fw_endpoints_v2, addr);
}

static __always_inline bool fw__rule_hit(const struct fw_rule_value *rule,
					 struct fw_policy_result *r)
{
	/* Only ALLOW exists today; an action this program does not know never allows. */
	if (!rule || rule->action != FW_ACTION_ALLOW)
		return false;
	r->verdict = FW_VERDICT_ALLOW;
	r->reason = FW_REASON_RULE;
	r->rule_id = rule->rule_id;
	/* Only on the allow: a denied packet reads no rule flags. */
	r->log_allowed |= rule->flags & FW_RULE_LOG_ALLOWED;
	return true;
}

/* One remote kind: the lookups of step 5 for the shapes in `kinds`. */
static __always_inline bool fw__rule_lookup(const struct fw_policy_query *q, __u32 ruleset,
					    __u8 kinds, __u8 kind, __u32 remote,
					    struct fw_policy_result *r)
{
	struct fw_rule_key key = {
		.prefixlen = FW_RULE_KEY_BITS,
		.ruleset = ruleset,
		.direction = q->direction,
		.remote_kind = kind,
		.remote = remote,
		.protocol = q->protocol,
		.port = q->port,
	};

	if ((kinds & FW_RULES_HAVE_EXACT_PORT) &&
	    fw__rule_hit(bpf_map_lookup_elem(&fw_rules_v2, &key), r))
		return true;
	if ((kinds & FW_RULES_HAVE_PORT_RANGE) &&
	    fw__rule_hit(bpf_map_lookup_elem(&fw_ranges_v1, &key), r))
		return true;
	key.port = 0;
	key.prefixlen = FW_RULE_BITS_ANY_PORT;
	if ((kinds & FW_RULES_HAVE_ANY_PORT) &&
	    fw__rule_hit(bpf_map_lookup_elem(&fw_rules_v2, &key), r))
		return true;
	key.protocol = 0;
	key.prefixlen = FW_RULE_BITS_ANY_PROTOCOL;
	return (kinds & FW_RULES_HAVE_ANY_PROTOCOL) &&
	       fw__rule_hit(bpf_map_lookup_elem(&fw_rules_v2, &key), r);
}

/* Steps 2 to 6 for an endpoint found by step 1. */
static __always_inline void fw_policy_decide(const struct fw_endpoint_value *ep,
					     const struct fw_policy_query *q,
					     struct fw_policy_result *r)
{
	const struct fw_ipcache_value *remote;
	__u8 kinds;

	r->local_identity = ep->identity;
	r->log_allowed = !!(ep->flags & FW_EP_LOG_ALLOWED);
	r->verdict = FW_VERDICT_ALLOW;

	/* Step 2. */
	remote = bpf_map_lookup_elem(&fw_ipcache_v1, q->remote);
	if (remote) {
		r->remote_identity = remote->identity;
		r->cidr_class = remote->cidr_class;
	} else {
		struct fw_cidr_key key = {.prefixlen = 128};
		const struct fw_cidr_value *cidr;

		fw_addr_copy(&key.addr, q->remote);
		cidr = bpf_map_lookup_elem(&fw_cidrs_v1, &key);
		r->remote_identity = FW_IDENTITY_WORLD;
		r->cidr_class = cidr ? cidr->cidr_class : 0;
	}

	/* Step 3. */
	if (r->remote_identity == FW_IDENTITY_HOST) {
		r->reason = FW_REASON_HOST;
		return;
	}
	/* Step 4. */
	if (!(ep->flags & (1 << q->direction))) {
		r->reason = FW_REASON_NOT_ISOLATED;
		return;
	}
	/* Step 5. */
	kinds = ep->rule_kinds[q->direction & 1];
	if ((kinds & FW_RULES_HAVE_IDENTITY) && r->remote_identity != FW_IDENTITY_WORLD &&
	    fw__rule_lookup(q, ep->ruleset, kinds, FW_REMOTE_IDENTITY, r->remote_identity, r))
		return;
	if ((kinds & FW_RULES_HAVE_CIDR) && r->cidr_class != 0 &&
	    fw__rule_lookup(q, ep->ruleset, kinds, FW_REMOTE_CIDR, r->cidr_class, r))
		return;
	if ((kinds & FW_RULES_HAVE_ANY) &&
	    fw__rule_lookup(q, ep->ruleset, kinds, FW_REMOTE_ANY, 0, r))
		return;
	/* Step 6. */
	r->verdict = FW_VERDICT_DENY;
	r->reason = FW_REASON_DEFAULT_DENY;
}

/* Steps 1 to 6. */
static __always_inline void fw_policy_lookup(const struct fw_policy_query *q,
					     struct fw_policy_result *r)
{
	const struct fw_endpoint_value *ep = fw_endpoint_lookup(q->local);

	if (!ep) {
		r->verdict = FW_VERDICT_ALLOW;
		r->reason = FW_REASON_NO_ENDPOINT;
		return;
	}
	fw_policy_decide(ep, q, r);
}

#endif /* FLATWALL_BPF_LIB_POLICY_H_ */
