/* Flatwall ABI: the maps the datapath owns — state it writes itself (conntrack, fragment
 * verdicts, counters, event rate limiting) and the small tables the agent writes for it
 * (configuration, Service addresses) — plus the programs' pin names, the conntrack
 * lifetimes and the skb->cb result slots.
 *
 * Not here: the policy tables the compiler produces (policy_maps.h), the ring-buffer
 * record (event.h), reasons and verdicts (verdict.h).
 *
 * As everywhere under abi/: no implicit padding (pad fields are named and zero), a size
 * assertion after each struct, and a layout change bumps the `_v1` suffix of the pin name.
 * Every map's name in the BPF objects IS its pin name (LIBBPF_PIN_BY_NAME pins a map at
 * <pin root>/<map name>), so map names are at most 15 characters. */
#ifndef FLATWALL_ABI_DATAPATH_MAPS_H_
#define FLATWALL_ABI_DATAPATH_MAPS_H_

#include "abi/common.h"

/* The attach points. Each has its own BPF object; all objects share every map by pin. */
enum fw_hook {
  FW_HOOK_FROM_POD = 0, /* pod veth, host side, tc ingress: the pod's egress policy */
  FW_HOOK_TO_POD = 1,   /* pod veth, host side, tc egress: the pod's ingress policy */
  FW_HOOK_UPLINK = 2,   /* node uplink, tc egress: egress of Service flows to remote
                           backends (acts only on packets carrying the Service mark) */
  FW_HOOK_COUNT = 3,
};

/* Program pin names under the pin root (the kernel program names drop the suffix). */
#define FW_PIN_PROG_FROM_POD "fw_from_pod_v1"
#define FW_PIN_PROG_TO_POD "fw_to_pod_v1"
#define FW_PIN_PROG_UPLINK "fw_uplink_v1"

/* ---- fw_config_v1: the datapath's configuration --------------------------------------
 * Array with one entry (index 0): array lookups are inlined by the verifier, so reading
 * the configuration costs one load per packet. Written by the agent (defaults when it
 * creates the map, the generation after every policy apply, the events flag while a
 * reader is attached); read by every program. */
#define FW_PIN_CONFIG "fw_config_v1"

enum fw_config_flags {
  FW_CFG_EVENTS = 1 << 0,      /* a reader drains fw_events_v1: emit verdict events */
  FW_CFG_LOG_ALLOWED = 1 << 1, /* also emit events for allowed new flows, every pod */
  /* Count packets and bytes per flow in fw_ct_value. Off by default: both directions'
   * counters share the entry's cache line, so counting every packet moves that line
   * between the CPUs handling a flow's two directions (~200 ns per packet on real traffic). */
  FW_CFG_CT_ACCOUNTING = 1 << 2,
};

/* kube-proxy owns 0x4000 (masquerade) and 0x8000 (drop), the AWS VPC CNI 0x80. */
#define FW_DEFAULT_SERVICE_MARK 0x00200000u
/* Per local endpoint: 100 events/s sustained, bursts of 200. */
#define FW_DEFAULT_EVENT_INTERVAL_NS 10000000u
#define FW_DEFAULT_EVENT_BURST 200u

struct fw_config {
  __u32 generation;        /* policy generation; bumped after every apply; 0 = unset */
  __u32 flags;             /* enum fw_config_flags */
  __u32 service_mark;      /* skb->mark bit(s) set on packets to a Service address */
  __u32 event_interval_ns; /* event token bucket: one token per interval, per endpoint */
  __u32 event_burst;       /* event token bucket depth */
  __u32 pad;
};
FW_ABI_SIZE(struct fw_config, 24);
FW_ABI_OFFSET(struct fw_config, service_mark, 8);
FW_ABI_OFFSET(struct fw_config, event_burst, 16);

/* ---- fw_ct_v1: conntrack ----------------------------------------------------------------
 * LRU hash. Key: the flow seen from one local endpoint — (local address, remote address,
 * local port, remote port, protocol). The same endpoint's two hooks build the same key for
 * both directions of a flow (at the from-pod hook local = source, at the to-pod hook local
 * = destination), so a reply hits the entry its original packet created with one lookup,
 * and two local pods talking to each other each own one entry.
 * ICMP echo: the identifier is both ports. Other ICMP: ports 0.
 * Written and read by the programs only (created by allowed new flows, refreshed by every
 * packet, deleted on revocation); the agent never deletes live entries: an entry past its
 * lifetime counts as absent, and the LRU evicts the least recent under pressure.
 * max_entries: 256k flows per node (about 40 MiB preallocated). */
#define FW_MAX_CONNTRACK 262144
#define FW_PIN_CONNTRACK "fw_ct_v1"

struct fw_ct_key {
  struct fw_addr local;
  struct fw_addr remote;
  __be16 local_port;  /* network order */
  __be16 remote_port; /* network order */
  __u8 protocol;
  __u8 pad[3];
};
FW_ABI_SIZE(struct fw_ct_key, 40);
FW_ABI_OFFSET(struct fw_ct_key, local_port, 32);
FW_ABI_OFFSET(struct fw_ct_key, protocol, 36);

/* Index of a packet's direction relative to the flow's first packet. */
enum fw_ct_dir {
  FW_CT_ORIGINAL = 0,
  FW_CT_REPLY = 1,
  FW_CT_DIR_COUNT = 2,
};

enum fw_ct_flags {
  /* A from-pod flow to a Service address: passed without judging the pod's egress,
   * which is judged where the backend is visible. Never re-judged here. */
  FW_CT_SERVICE = 1 << 0,
};

struct fw_ct_value {
  __u64 last_seen_ns;               /* bpf_ktime_get_coarse_ns() of the last packet */
  /* Indexed by enum fw_ct_dir; counted only while fw_config has FW_CFG_CT_ACCOUNTING
   * (otherwise they stay at the first packet's). */
  __u64 packets[FW_CT_DIR_COUNT];
  __u64 bytes[FW_CT_DIR_COUNT];     /* skb->len, L2 included */
  __u32 generation;                 /* fw_config.generation the flow was last judged at */
  __u32 rule_id;                    /* the rule that allowed it (0 unless reason RULE) */
  __u8 origin;                      /* enum fw_direction of the first packet */
  __u8 flags;                       /* enum fw_ct_flags */
  __u8 tcp_flags[FW_CT_DIR_COUNT];  /* TCP flag bits seen, by enum fw_ct_dir */
  __u8 reason;                      /* enum fw_reason that allowed the first packet */
  /* Little-endian ifindex of the host-side veth of the local endpoint, recorded when the
   * entry was made on that veth by a packet whose local address the veth owns (0: made
   * elsewhere, by a datapath older than this field, or an ifindex >= 2^24). A from-pod
   * packet hitting an entry of its own veth has its source address proven, so the
   * established path skips the fw_veth_v1 lookup. 3 bytes: the former pad. */
  __u8 veth_ifindex[3];
};
FW_ABI_SIZE(struct fw_ct_value, 56);
FW_ABI_OFFSET(struct fw_ct_value, generation, 40);
FW_ABI_OFFSET(struct fw_ct_value, origin, 48);
FW_ABI_OFFSET(struct fw_ct_value, tcp_flags, 50);

/* Lifetimes, in ns since the entry's last packet; past it an entry counts as absent and
 * its next packet is judged as a new flow. TCP: "established" once both directions have
 * carried an ACK; "closing" after an RST or a FIN in each direction; otherwise (SYN sent,
 * no answer yet) "opening". Non-TCP protocols have no state. */
#define FW_CT_LIFETIME_TCP_OPENING_NS (60ull * 1000000000ull)
#define FW_CT_LIFETIME_TCP_ESTABLISHED_NS (6ull * 3600ull * 1000000000ull)
#define FW_CT_LIFETIME_TCP_CLOSING_NS (10ull * 1000000000ull)
#define FW_CT_LIFETIME_UDP_NS (120ull * 1000000000ull) /* UDP, SCTP and other protocols */
#define FW_CT_LIFETIME_ICMP_NS (30ull * 1000000000ull)

/* fw_ct_value.tcp_flags bits: the TCP header's own. */
#define FW_TCP_FIN 0x01
#define FW_TCP_SYN 0x02
#define FW_TCP_RST 0x04
#define FW_TCP_ACK 0x10

/* Whether a TCP entry has seen its connection end: a RST either way, or a FIN both ways. */
static inline int fw_ct_tcp_closing(const struct fw_ct_value *ct)
{
  __u8 seen = ct->tcp_flags[FW_CT_ORIGINAL] | ct->tcp_flags[FW_CT_REPLY];

  return (seen & FW_TCP_RST) ||
         ((ct->tcp_flags[FW_CT_ORIGINAL] & ct->tcp_flags[FW_CT_REPLY]) & FW_TCP_FIN);
}

/* The veth an entry was made on (fw_ct_value.veth_ifindex, 24 bits little-endian; 0 =
 * unknown). Written once here for the programs and userspace readers. */
static inline __u32 fw_ct_veth(const struct fw_ct_value *ct)
{
  return ct->veth_ifindex[0] | (__u32)ct->veth_ifindex[1] << 8 |
         (__u32)ct->veth_ifindex[2] << 16;
}

/* Records `ifindex` as the entry's veth; an ifindex that needs more than 24 bits records 0
 * (unknown), which never proves a source address. */
static inline void fw_ct_set_veth(struct fw_ct_value *ct, __u32 ifindex)
{
  if (ifindex >= (1u << 24))
    ifindex = 0;
  ct->veth_ifindex[0] = ifindex & 0xff;
  ct->veth_ifindex[1] = (ifindex >> 8) & 0xff;
  ct->veth_ifindex[2] = (ifindex >> 16) & 0xff;
}

/* How long after its last packet an entry still stands for its flow. Written once here
 * for the programs (lib/conntrack.h) and userspace readers (`flatwall status`). Protocol
 * numbers are IANA's (TCP 6, ICMP 1, ICMPv6 58): the kernel's and libc's headers that
 * name them cannot both be included in C++. */
static inline __u64 fw_ct_lifetime_ns(const struct fw_ct_value *ct, __u8 protocol)
{
  switch (protocol) {
  case 6:
    if (fw_ct_tcp_closing(ct))
      return FW_CT_LIFETIME_TCP_CLOSING_NS;
    if (ct->tcp_flags[FW_CT_ORIGINAL] & ct->tcp_flags[FW_CT_REPLY] & FW_TCP_ACK)
      return FW_CT_LIFETIME_TCP_ESTABLISHED_NS;
    return FW_CT_LIFETIME_TCP_OPENING_NS;
  case 1:
  case 58:
    return FW_CT_LIFETIME_ICMP_NS;
  }
  return FW_CT_LIFETIME_UDP_NS;
}

/* ---- fw_frags_v1: verdicts of first fragments -------------------------------------------
 * LRU hash. Key: (source, destination, IP identification, protocol, direction judged).
 * Written by the programs when a first fragment (offset 0, more-fragments set) gets its
 * verdict; read for the later fragments of the same datagram, which carry no ports and
 * take that verdict. A later fragment with no entry (or one older than the lifetime) is
 * dropped with FW_REASON_FRAGMENT. max_entries: datagrams in reassembly per node. */
#define FW_MAX_FRAGMENTS 8192
#define FW_PIN_FRAGMENTS "fw_frags_v1"
#define FW_FRAGMENT_LIFETIME_NS (30ull * 1000000000ull) /* as the kernel's ipfrag_time */

struct fw_frag_key {
  struct fw_addr saddr;
  struct fw_addr daddr;
  __u32 id;         /* host order: IPv4 identification (16 bits) or IPv6 fragment id */
  __u8 protocol;
  __u8 direction;   /* enum fw_direction that was judged */
  __u8 pad[2];
};
FW_ABI_SIZE(struct fw_frag_key, 40);
FW_ABI_OFFSET(struct fw_frag_key, id, 32);

enum fw_frag_flags {
  FW_FRAG_SERVICE_MARK = 1 << 0, /* the first fragment got the Service mark: so do these */
};

struct fw_frag_value {
  __u64 first_seen_ns;
  __u32 rule_id;
  __u8 verdict;  /* enum fw_verdict */
  __u8 reason;   /* enum fw_reason */
  __u8 flags;    /* enum fw_frag_flags */
  __u8 pad;
};
FW_ABI_SIZE(struct fw_frag_value, 16);

/* ---- fw_services_v1: Service addresses ----------------------------------------------------
 * Hash. Key: a ClusterIP. Written by the agent from the Services it watches; read by the
 * from-pod hook: a new flow to one of these addresses is passed with the Service mark and
 * judged after kube-proxy's DNAT, at the backend's to-pod hook or at the uplink.
 * max_entries: 64k Service addresses per cluster (dual-stack included). */
#define FW_MAX_SERVICES 65536
#define FW_PIN_SERVICES "fw_services_v1"

struct fw_service_key {
  struct fw_addr addr;
};
FW_ABI_SIZE(struct fw_service_key, 16);

enum fw_service_flags {
  FW_SVC_CLUSTER_IP = 1 << 0,
};

struct fw_service_value {
  __u32 flags; /* enum fw_service_flags */
};
FW_ABI_SIZE(struct fw_service_value, 4);

/* ---- fw_veth_v1 / fw_veth_big_v1: the addresses each pod veth may send from -------------
 * The from-pod hook drops a packet whose source address is not one of its veth's
 * (FW_REASON_SPOOFED), so a pod can neither hide behind an address that is no endpoint
 * nor borrow another pod's policy. A veth without an entry fails closed: the program is
 * only attached by the agent, which binds the veth first.
 * fw_veth_v1: array indexed by ifindex (array lookups are inlined by the verifier, so the
 * check costs a bounds test and a load); fw_veth_big_v1: hash keyed by ifindex for the
 * rare ifindexes past the array. An array slot is unused while its ifindex field is 0
 * (and it must equal the index when used, so a stale or zeroed slot never matches).
 * Written by the agent when it attaches a veth (agent/veth_binding.h), cleared on
 * detach; read by the from-pod program. */
#define FW_VETH_ARRAY_SLOTS 65536
#define FW_MAX_VETH_BIG 1024
#define FW_VETH_MAX_ADDRS 4 /* a pod's IPv4 and IPv6 addresses, with room */
#define FW_PIN_VETH "fw_veth_v1"
#define FW_PIN_VETH_BIG "fw_veth_big_v1"

struct fw_veth_value {
  __u32 ifindex;  /* == the index (array) or key (hash); 0 = no binding */
  __u32 count;    /* addrs in use, at most FW_VETH_MAX_ADDRS */
  struct fw_addr addrs[FW_VETH_MAX_ADDRS];
};
FW_ABI_SIZE(struct fw_veth_value, 72);
FW_ABI_OFFSET(struct fw_veth_value, addrs, 8);

/* ---- fw_counters_v1: per endpoint, direction and reason ------------------------------------
 * Per-CPU hash. Key: (local address, direction, reason). Written by the programs for every
 * packet decided without a conntrack hit (new flows, drops, related ICMP, fragments);
 * packets of established flows are counted in their fw_ct_value and in fw_stats_v1, which
 * keeps the established path at one hash lookup. Packets dropped before an address was
 * parsed count under the zero address. Read by the agent (summing CPUs), which deletes an
 * endpoint's entries when the endpoint goes away.
 * max_entries: 4096 endpoints x 2 directions x the handful of reasons each sees. */
#define FW_MAX_COUNTERS 65536
#define FW_PIN_COUNTERS "fw_counters_v1"

struct fw_counter_key {
  struct fw_addr endpoint;
  __u8 direction; /* enum fw_direction */
  __u8 reason;    /* enum fw_reason */
  __u8 pad[2];
};
FW_ABI_SIZE(struct fw_counter_key, 20);

struct fw_counter_value {
  __u64 packets;
  __u64 bytes; /* skb->len, L2 included */
};
FW_ABI_SIZE(struct fw_counter_value, 16);

/* ---- fw_stats_v1: node-wide counters --------------------------------------------------------
 * Per-CPU array of fw_counter_value. Indexes below 64 are enum fw_reason: every packet
 * every hook decides, established ones included. Above them, datapath health counters.
 * Written by the programs, read by the agent. */
#define FW_PIN_STATS "fw_stats_v1"

enum fw_stat_index {
  FW_STAT_REASON_FIRST = 0,      /* + enum fw_reason */
  FW_STAT_EVENTS_RING_FULL = 64, /* events lost: the ring buffer had no room */
  FW_STAT_EVENTS_SUPPRESSED = 65, /* events not emitted by the per-endpoint rate limit */
  FW_STAT_COUNTERS_FULL = 66,    /* fw_counters_v1 had no room for a new key */
  FW_STAT_CONNTRACK_FAILED = 67, /* a new flow could not be recorded in fw_ct_v1 */
  FW_STAT_FRAGMENTS_FAILED = 68, /* a first fragment's verdict could not be recorded */
  FW_STATS_COUNT = 72,
};

/* ---- fw_evrate_v1: verdict-event rate limit ------------------------------------------------
 * LRU hash. Key: the local endpoint address (zero for packets dropped before parsing).
 * Value: a GCRA token bucket (theoretical arrival time) and the number of events it
 * suppressed since the last one emitted, which that next event carries. Written and read
 * by the programs only, and only while FW_CFG_EVENTS is set.
 * max_entries: endpoints, with room. */
#define FW_MAX_EVENT_RATE 8192
#define FW_PIN_EVENT_RATE "fw_evrate_v1"

struct fw_evrate_key {
  struct fw_addr endpoint;
};
FW_ABI_SIZE(struct fw_evrate_key, 16);

struct fw_evrate_value {
  __u64 tat_ns;     /* bucket empty until this time; one event adds event_interval_ns */
  __u64 suppressed; /* events dropped by the limit since the last emitted one */
};
FW_ABI_SIZE(struct fw_evrate_value, 16);

/* ---- fw_events_v1: verdict events --------------------------------------------------------
 * Ring buffer of struct fw_event (event.h). Written by the programs while FW_CFG_EVENTS
 * is set; read by the agent. Size: 1 MiB, about 12k events of backlog. */
#define FW_EVENTS_RING_BYTES (1u << 20)
#define FW_PIN_EVENTS "fw_events_v1"

/* ---- skb->cb on return: what the program decided ---------------------------------------------
 * Every program leaves its decision in the control buffer (the kernel discards it after
 * the hook; BPF_PROG_TEST_RUN returns it), so tests and `flatwall matrix --datapath bpf`
 * see the reason without a side channel. */
enum fw_cb_slot {
  FW_CB_REASON = 0,          /* enum fw_reason */
  FW_CB_RULE_ID = 1,         /* the deciding rule (or the flow's rule when ESTABLISHED) */
  FW_CB_LOCAL_IDENTITY = 2,  /* 0 when no policy lookup ran */
  FW_CB_REMOTE_IDENTITY = 3, /* 0 when no policy lookup ran */
  FW_CB_DIRECTION = 4,       /* enum fw_direction judged (egress of the source for a
                                Service flow's source check) */
};

#endif /* FLATWALL_ABI_DATAPATH_MAPS_H_ */
