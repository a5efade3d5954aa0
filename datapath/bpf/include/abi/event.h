/* Flatwall ABI: the verdict event, the record the programs write into the fw_events_v1
 * ring buffer and the agent turns into the verdict log.
 *
 * Not here: when events are emitted and how they are rate-limited (datapath_maps.h,
 * docs/datapath.md), the reasons themselves (verdict.h). */
#ifndef FLATWALL_ABI_EVENT_H_
#define FLATWALL_ABI_EVENT_H_

#include "abi/common.h"

struct fw_event {
  __u64 timestamp_ns;       /* bpf_ktime_get_ns() */
  struct fw_addr saddr;     /* the packet's source (zero when not parsed) */
  struct fw_addr daddr;     /* the packet's destination */
  __be16 sport;             /* network order; ICMP echo: identifier; otherwise 0 */
  __be16 dport;
  __u8 protocol;
  __u8 direction;           /* enum fw_direction judged */
  __u8 verdict;             /* enum fw_verdict */
  __u8 reason;              /* enum fw_reason */
  __u32 local_identity;     /* 0 when the decision needed no policy lookup */
  __u32 remote_identity;
  __u32 rule_id;            /* the allowing rule, 0 for drops */
  __u32 cidr_class;         /* the remote address's CIDR class, 0 for none */
  __u32 ifindex;            /* skb->ifindex at the hook */
  __u32 packet_len;         /* skb->len */
  __u32 suppressed;         /* events of this endpoint the rate limit dropped just before */
  __u8 hook;                /* enum fw_hook */
  __u8 tcp_flags;           /* TCP: the header's flags byte (FIN 0x01, SYN 0x02, RST 0x04,
                               PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80); else 0 */
  __u8 pad[2];
};
FW_ABI_SIZE(struct fw_event, 80);
FW_ABI_OFFSET(struct fw_event, sport, 40);
FW_ABI_OFFSET(struct fw_event, protocol, 44);
FW_ABI_OFFSET(struct fw_event, local_identity, 48);
FW_ABI_OFFSET(struct fw_event, suppressed, 72);
FW_ABI_OFFSET(struct fw_event, hook, 76);
FW_ABI_OFFSET(struct fw_event, tcp_flags, 77);

#endif /* FLATWALL_ABI_EVENT_H_ */
