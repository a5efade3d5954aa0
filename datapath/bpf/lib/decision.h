/* What a hook decided about a packet: the policy result plus whose decision it is (the
 * local endpoint and direction it is counted and rate-limited under) and how it was
 * reached. Built by hook.h; consumed by counters.h, events.h and fragments.h.
 *
 * Not here: how decisions are made (policy.h, conntrack.h, hook.h). */
#ifndef FLATWALL_BPF_LIB_DECISION_H_
#define FLATWALL_BPF_LIB_DECISION_H_

#include "lib/base.h"
#include "lib/policy.h"

struct fw_decision {
	struct fw_policy_result result;
	const struct fw_addr *local; /* the endpoint it is about (points into fw_packet) */
	__u8 direction;              /* enum fw_direction judged */
	__u8 endpoint_known;         /* `local` is an endpoint (fw_endpoints or a flow of one) */
	__u8 flow_hit;               /* a conntrack hit: counted in the flow entry */
	__u8 new_flow;               /* allowed and recorded in conntrack */
	__u8 service_mark;           /* the packet got the Service mark */
	__u8 pad[3];
};

static __always_inline void fw_decision_set(struct fw_decision *d, __u8 verdict, __u8 reason)
{
	d->result.verdict = verdict;
	d->result.reason = reason;
}

#endif /* FLATWALL_BPF_LIB_DECISION_H_ */
