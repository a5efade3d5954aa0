/* What a hook decided about a packet: the policy result plus whose decision it is (the
 * local endpoint and direction it is counted and rate-limited under) and how it was
 * reached. Built by hook.h; consumed by counters.h, events.h and fragments.h.
 *
 * Not here: how decisions are made (policy.h, conntrack.h, hook.h). */
#ifndef FLATWALL_BPF_LIB_DECISION_H_
#define FLATWALL_BPF_LIB_DECISION_H_

#include "lib/base.h"
#include "lib/parse.h"
#include "lib/policy.h"

struct fw_decision {
	struct fw_policy_result result;
	__u8 local_is_src;           /* the endpoint it is about is the packet's source, else
					its destination (fw_decision_local); a flag rather than
					a pointer into fw_packet, so BPF subprograms may fill
					in a decision: the verifier rejects a subprogram that
					stores a pointer to its caller's stack */
	__u8 direction;              /* enum fw_direction judged */
	__u8 endpoint_known;         /* the local address is an endpoint (fw_endpoints or a
					flow of one) */
	__u8 flow_hit;               /* a conntrack hit: counted in the flow entry */
	__u8 new_flow;               /* allowed and recorded in conntrack */
	__u8 service_mark;           /* the packet got the Service mark */
	__u8 pad[2];
};

/* The address of the endpoint the decision is about. */
static __always_inline const struct fw_addr *fw_decision_local(const struct fw_decision *d,
								const struct fw_tuple *t)
{
	return d->local_is_src ? &t->saddr : &t->daddr;
}

static __always_inline void fw_decision_set(struct fw_decision *d, __u8 verdict, __u8 reason)
{
	d->result.verdict = verdict;
	d->result.reason = reason;
}

#endif /* FLATWALL_BPF_LIB_DECISION_H_ */
