/* BPF-only basics every lib/ module uses: kernel and libbpf includes, the ABI headers,
 * address helpers and branch hints.
 *
 * Not here: anything with a map or a packet (maps.h, parse.h). */
#ifndef FLATWALL_BPF_LIB_BASE_H_
#define FLATWALL_BPF_LIB_BASE_H_

#include <stdbool.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "abi/common.h"
#include "abi/datapath_maps.h"
#include "abi/event.h"
#include "abi/policy_maps.h"
#include "abi/verdict.h"

#define fw_likely(x) __builtin_expect(!!(x), 1)
#define fw_unlikely(x) __builtin_expect(!!(x), 0)

/* The isolation flag of a direction is bit `direction` of fw_endpoint_value.flags. */
FW_ABI_ASSERT(FW_EP_ISOLATED_INGRESS == 1 << FW_DIR_INGRESS, "ingress isolation bit");
FW_ABI_ASSERT(FW_EP_ISOLATED_EGRESS == 1 << FW_DIR_EGRESS, "egress isolation bit");
FW_ABI_ASSERT(FW_REASON_COUNT <= FW_STAT_EVENTS_RING_FULL, "reasons fit in fw_stats_v1");

/* fw_addr as two 64-bit words, for copies and comparisons without byte loops. Stack
 * copies of struct fw_addr in lib/ are declared with this alignment. */
#define FW_ADDR_ALIGN __attribute__((aligned(8)))

static __always_inline void fw_addr_copy(struct fw_addr *dst, const struct fw_addr *src)
{
	__builtin_memcpy(dst, src, sizeof(*dst));
}

/* ::ffff:a.b.c.d — the IPv4-mapped form every key uses. */
static __always_inline void fw_addr_set4(struct fw_addr *dst, __be32 v4)
{
	__u32 words[4] = {0, 0, bpf_htonl(0xffff), v4};

	__builtin_memcpy(dst, words, sizeof(words));
}

#endif /* FLATWALL_BPF_LIB_BASE_H_ */
