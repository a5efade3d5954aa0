/* Flatwall ABI: the verdict event, the record the programs write into the fw_events_v1
 * ring buffer and the agent turns into the verdict log.
 *
 * Not here: when events are emitted and how they are rate-limited (datapath_maps.h,
 * docs/datapath.md), the reasons themselves (verdict.h). */
#ifndef FLATWALL_ABI_EVENT_H_
#define FLATWALL_ABI_EVENT_H_

#include "abi/common.h"

/* fw_event.icmp_type and icmp_code of an ICMP packet whose header was not read: a later
 * fragment (which takes its first fragment's verdict), a truncated header, or ICMP of the
 * other address family. 0 cannot say so: 0/0 is an echo reply. (Types 255 are reserved
 * in ICMP and ICMPv6, so a real 255/255 is only ever lost as "unread".) */
#define FW_EVENT_ICMP_UNREAD 0xff

struct fw_event {
  __u64 timestamp_ns;       /* bpf_ktime_get_ns() */
  struct fw_addr saddr;     /* the packet's source (zero when not parsed) */
  struct fw_addr daddr;     /* the packet's destination */
  __be16 sport;             /* network order; ICMP echo: identifier (in dport too);
                               other ICMP and protocols without ports: 0 */
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
  __u8 icmp_type;           /* ICMP over IPv4, ICMPv6 over IPv6: the header's type and code, */
  __u8 icmp_code;           /* or FW_EVENT_ICMP_UNREAD in both; other protocols: 0 */
};
FW_ABI_SIZE(struct fw_event, 80);
FW_ABI_OFFSET(struct fw_event, sport, 40);
FW_ABI_OFFSET(struct fw_event, protocol, 44);
FW_ABI_OFFSET(struct fw_event, local_identity, 48);
FW_ABI_OFFSET(struct fw_event, suppressed, 72);
FW_ABI_OFFSET(struct fw_event, hook, 76);
FW_ABI_OFFSET(struct fw_event, tcp_flags, 77);
FW_ABI_OFFSET(struct fw_event, icmp_type, 78);
FW_ABI_OFFSET(struct fw_event, icmp_code, 79);

#endif /* FLATWALL_ABI_EVENT_H_ */
