/* Source-address enforcement at the from-pod hook: a pod may send only from the addresses
 * the agent bound to its veth (fw_veth_v1 / fw_veth_big_v1, abi/datapath_maps.h), so it
 * can neither escape policy with an address that is no endpoint nor borrow another local
 * pod's policy. Neighbour discovery from :: or fe80::/10 passes: a pod needs it before
 * (and besides) its addresses. A veth without a binding fails closed.
 *
 * Not here: where the check runs in the pipeline (hook.h). */
#ifndef FLATWALL_BPF_LIB_SOURCE_CHECK_H_
#define FLATWALL_BPF_LIB_SOURCE_CHECK_H_

#include "lib/base.h"
#include "lib/maps.h"
#include "lib/parse.h"

/* :: or fe80::/10. */
static __always_inline bool fw__unspecified_or_link_local(const struct fw_addr *a)
{
	const __u64 *x = (const __u64 *)a;

	if (x[0] == 0 && x[1] == 0)
		return true;
	return a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
}

static __always_inline const struct fw_veth_value *fw__veth_lookup(__u32 ifindex)
{
	const struct fw_veth_value *v;

	if (fw_likely(ifindex < FW_VETH_ARRAY_SLOTS))
		v = bpf_map_lookup_elem(&fw_veth_v1, &ifindex);
	else
		v = bpf_map_lookup_elem(&fw_veth_big_v1, &ifindex);
	/* An array slot always exists: its ifindex field says whether it is bound. */
	return v && v->ifindex == ifindex ? v : NULL;
}

/* Also used by hook.h. */
static __always_inline bool fw_addr_equal(const struct fw_addr *a, const struct fw_addr *b)
{
	const __u64 *x = (const __u64 *)a;
	const __u64 *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

/* Whether the packet may leave the pod behind skb->ifindex with its source address. */
static __always_inline bool fw_source_allowed(const struct __sk_buff *skb,
					      const struct fw_packet *pkt)
{
	const struct fw_addr *src = &pkt->tuple.saddr;
	const struct fw_veth_value *v;
	__u32 i;

	if (pkt->icmp == FW_ICMP_ND && fw__unspecified_or_link_local(src))
		return true;
	v = fw__veth_lookup(skb->ifindex);
	if (!v)
		return false;
#pragma unroll
	for (i = 0; i < FW_VETH_MAX_ADDRS; i++) {
		if (i < v->count && fw_addr_equal(&v->addrs[i], src))
			return true;
	}
	return false;
}

#endif /* FLATWALL_BPF_LIB_SOURCE_CHECK_H_ */
