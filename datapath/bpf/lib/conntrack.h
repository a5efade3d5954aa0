/* Conntrack: flow keys, lifetimes and the fw_ct_v1 entry life cycle (create, refresh,
 * revoke). The map and its key are described in abi/datapath_maps.h; the rules in
 * docs/datapath.md ("Conntrack").
 *
 * Not here: the decision of what to do on a miss (hook.h, policy.h). */
#ifndef FLATWALL_BPF_LIB_CONNTRACK_H_
#define FLATWALL_BPF_LIB_CONNTRACK_H_

#include "lib/base.h"
#include "lib/maps.h"
#include "lib/parse.h"

static __always_inline void fw_ct_key_init(struct fw_ct_key *key, const struct fw_addr *local,
					   const struct fw_addr *remote, __be16 local_port,
					   __be16 remote_port, __u8 protocol)
{
	fw_addr_copy(&key->local, local);
	fw_addr_copy(&key->remote, remote);
	key->local_port = local_port;
	key->remote_port = remote_port;
	key->protocol = protocol;
}

/* Whether an entry still stands for the flow this packet belongs to: within its lifetime,
 * and not a closed TCP connection whose port pair a new SYN is reusing. */
static __always_inline bool fw_ct_alive(const struct fw_ct_value *ct, __u8 protocol,
					__u8 tcp_flags, __u64 now)
{
	/* Signed: another CPU may have stamped the entry a tick after our clock read. */
	if ((__s64)(now - ct->last_seen_ns) > (__s64)fw_ct_lifetime_ns(ct, protocol))
		return false;
	if (protocol == IPPROTO_TCP && (tcp_flags & (FW_TCP_SYN | FW_TCP_ACK)) == FW_TCP_SYN &&
	    fw_ct_tcp_closing(ct))
		return false;
	return true;
}

/* Accounts a packet of a live entry. Nothing is written unless something changed: the
 * timestamp when the coarse clock moved, the TCP flags when a new one appears, and the
 * flow counters only with FW_CFG_CT_ACCOUNTING (abi/datapath_maps.h says why it is off by
 * default). The counters are plain adds: each direction has its own words, and one
 * direction of one flow is processed by one CPU at a time in practice, so a lost increment
 * needs two CPUs racing on the same flow and direction. */
static __always_inline void fw_ct_refresh(struct fw_ct_value *ct, const struct fw_config *cfg,
					  __u32 ct_dir, __u8 tcp_flags, __u32 len, __u64 now)
{
	ct_dir &= 1;
	if (ct->last_seen_ns != now)
		ct->last_seen_ns = now;
	if ((ct->tcp_flags[ct_dir] | tcp_flags) != ct->tcp_flags[ct_dir])
		ct->tcp_flags[ct_dir] |= tcp_flags;
	if (cfg->flags & FW_CFG_CT_ACCOUNTING) {
		ct->packets[ct_dir]++;
		ct->bytes[ct_dir] += len;
	}
}

/* Whether the entry was made on the veth `ifindex`. */
static __always_inline bool fw_ct_made_on_veth(const struct fw_ct_value *ct, __u32 ifindex)
{
	__u32 veth = fw_ct_veth(ct);

	return veth != 0 && veth == ifindex;
}

/* Records a new flow allowed for `reason` in the direction `origin`; `veth` is the
 * ifindex of the local endpoint's own veth, or 0 when the packet is not on it. Overwrites
 * an expired entry with the same key. Returns false when the map refused. */
static __always_inline bool fw_ct_create(const struct fw_ct_key *key, __u8 origin, __u8 reason,
					 __u8 flags, __u32 generation, __u32 rule_id,
					 __u8 tcp_flags, __u32 len, __u64 now, __u32 veth)
{
	struct fw_ct_value ct = {
		.last_seen_ns = now,
		.packets = {1, 0},
		.bytes = {len, 0},
		.generation = generation,
		.rule_id = rule_id,
		.origin = origin,
		.flags = flags,
		.tcp_flags = {tcp_flags, 0},
		.reason = reason,
	};

	fw_ct_set_veth(&ct, veth);

	return bpf_map_update_elem(&fw_ct_v1, key, &ct, BPF_ANY) == 0;
}

#endif /* FLATWALL_BPF_LIB_CONNTRACK_H_ */
