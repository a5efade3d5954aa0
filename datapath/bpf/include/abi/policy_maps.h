/* Flatwall ABI: the policy tables — the maps the policy compiler produces and the agent
 * writes, and that the datapath only reads: endpoints, IP cache, CIDR classes and rules.
 *
 * Not here: state the datapath itself writes (conntrack, counters, events, configuration),
 * which lives in datapath_maps.h and event.h.
 *
 * Every key is free of implicit padding; pad fields are named and always zero, because
 * hash and LPM-trie keys compare byte by byte. A layout change bumps the version suffix of
 * the map's pin name (FW_PIN_*), so an upgraded agent never reuses an incompatible map. */
#ifndef FLATWALL_ABI_POLICY_MAPS_H_
#define FLATWALL_ABI_POLICY_MAPS_H_

#include "abi/common.h"

/* ---- fw_endpoints: local pod IP -> endpoint -----------------------------------------
 * Hash. Key: the pod's IP. Written by the agent for each pod on this node (one entry per
 * IP, so a dual-stack pod has two); read by both tc programs to find the local side of a
 * packet. max_entries: a node runs at most a few hundred pods; 4096 leaves room for
 * dual-stack and churn. */
#define FW_MAX_ENDPOINTS 4096
#define FW_PIN_ENDPOINTS "fw_endpoints_v2"

struct fw_endpoint_key {
  struct fw_addr addr;
};
FW_ABI_SIZE(struct fw_endpoint_key, 16);

/* fw_endpoint_value.flags */
enum fw_endpoint_flags {
  FW_EP_ISOLATED_INGRESS = 1 << 0, /* a policy with Ingress in policyTypes selects the pod */
  FW_EP_ISOLATED_EGRESS = 1 << 1,  /* a policy with Egress in policyTypes selects the pod */
  FW_EP_LOG_ALLOWED = 1 << 2,      /* emit verdict events for allowed new flows too
                                      (annotation flatwall.io/log-allowed on the namespace) */
};

/* fw_endpoint_value.rule_kinds[dir]: which kinds of rule-key remote, and which port shapes
 * (see fw_rule_shape), exist in the ruleset for that direction, so the datapath makes only
 * the lookups that can match. A ruleset without a shape bit is never looked up in that
 * shape: the compiler sets both halves from the same entries. */
enum fw_rule_kind_mask {
  FW_RULES_HAVE_IDENTITY = 1 << 0,
  FW_RULES_HAVE_CIDR = 1 << 1,
  FW_RULES_HAVE_ANY = 1 << 2,
  FW_RULES_HAVE_EXACT_PORT = 1 << 3,   /* protocol and one port */
  FW_RULES_HAVE_PORT_RANGE = 1 << 4,   /* a piece of an endPort range (fw_ranges) */
  FW_RULES_HAVE_ANY_PORT = 1 << 5,     /* protocol, every port */
  FW_RULES_HAVE_ANY_PROTOCOL = 1 << 6, /* no ports: every protocol and port */
};

struct fw_endpoint_value {
  __u32 identity; /* the pod's identity (for events and counters) */
  __u32 ruleset;  /* fw_rule_key.ruleset of this pod's rules; content-addressed, so a
                     policy change writes a new ruleset before the endpoint flips to it */
  __u8 flags;     /* enum fw_endpoint_flags */
  __u8 rule_kinds[FW_DIR_COUNT]; /* enum fw_rule_kind_mask, indexed by enum fw_direction */
  __u8 pad;
};
FW_ABI_SIZE(struct fw_endpoint_value, 12);
FW_ABI_OFFSET(struct fw_endpoint_value, ruleset, 4);
FW_ABI_OFFSET(struct fw_endpoint_value, flags, 8);
FW_ABI_OFFSET(struct fw_endpoint_value, rule_kinds, 9);

/* ---- fw_ipcache: pod IP (cluster-wide) or local node IP -> identity ------------------
 * Hash. Written by the agent: every pod IP in the cluster (from the compiler) plus the
 * local node's own addresses (identity FW_IDENTITY_HOST). Read for the remote side of a
 * packet. The CIDR class is precomputed so a pod IP needs one lookup, not two.
 * max_entries: 128k pod IPs per cluster. */
#define FW_MAX_IPCACHE 131072
#define FW_PIN_IPCACHE "fw_ipcache_v1"

struct fw_ipcache_key {
  struct fw_addr addr;
};
FW_ABI_SIZE(struct fw_ipcache_key, 16);

struct fw_ipcache_value {
  __u32 identity;
  __u32 cidr_class; /* the class of the longest ipBlock prefix holding addr, 0 for none */
};
FW_ABI_SIZE(struct fw_ipcache_value, 8);

/* ---- fw_cidrs: ipBlock prefixes -> CIDR class ----------------------------------------
 * LPM trie. Every distinct cidr and except prefix of every ipBlock is one entry; the
 * longest match of an address is its class, and a class decides membership in every
 * ipBlock at once. Looked up only for addresses missing from fw_ipcache.
 * max_entries: 16k distinct prefixes per cluster. */
#define FW_MAX_CIDRS 16384
#define FW_PIN_CIDRS "fw_cidrs_v1"

struct fw_cidr_key {
  __u32 prefixlen; /* in bits over addr: IPv4 prefixes are 96 + their length */
  struct fw_addr addr;
};
FW_ABI_SIZE(struct fw_cidr_key, 20);

struct fw_cidr_value {
  __u32 cidr_class; /* never 0 */
};
FW_ABI_SIZE(struct fw_cidr_value, 4);

/* ---- fw_rules, fw_ranges: (ruleset, direction, remote, protocol, port) -> allow --------
 * The fields are ordered from most to least significant so that wildcards are prefixes: a
 * rule with no ports stops after `remote` (any protocol, ICMP included), a protocol without
 * a port stops after `protocol`, and a port range [port, endPort] is the minimal set of
 * port prefixes covering it. The bits beyond prefixlen are always zero.
 * fw_rules is a hash holding the three shapes whose prefixlen is fixed (exact port, any
 * port, any protocol): one exact lookup per shape, whatever the table size — an LPM trie's
 * lookup grows with its depth. fw_ranges, an LPM trie, holds only the pieces of port
 * ranges (prefixlen strictly between FW_RULE_BITS_ANY_PORT and FW_RULE_KEY_BITS).
 * Lookup per remote kind present, most specific first (fw_rule_kind_mask says which
 * shapes exist): exact port, range (longest match), any port, any protocol.
 * max_entries: 1M entries per node each. A rule entry exists per (local ruleset, remote
 * identity, port prefix), so a 100k-pod cluster with 10k policies gives a node ~420k
 * entries (bench/compiler_bench); neither map is preallocated, so the cap costs nothing
 * unused. */
#define FW_MAX_RULES 1048576
#define FW_MAX_RULE_RANGES 1048576
#define FW_PIN_RULES "fw_rules_v2"
#define FW_PIN_RULE_RANGES "fw_ranges_v1"

enum fw_remote_kind {
  FW_REMOTE_IDENTITY = 0, /* remote = identity of the peer pod */
  FW_REMOTE_CIDR = 1,     /* remote = CIDR class of the peer address */
  FW_REMOTE_ANY = 2,      /* remote = 0: every peer, pod or not */
};

struct fw_rule_key {
  __u32 prefixlen;  /* bits of the fields below that must match */
  __u32 ruleset;    /* fw_endpoint_value.ruleset (host order: always fully matched) */
  __u8 direction;   /* enum fw_direction */
  __u8 remote_kind; /* enum fw_remote_kind */
  __u8 pad1[2];
  __u32 remote;     /* identity or CIDR class, 0 for FW_REMOTE_ANY */
  __u8 protocol;    /* IPPROTO_TCP, _UDP, _SCTP, _ICMP, _ICMPV6 */
  __u8 pad2;
  __be16 port;      /* destination port, network byte order (ICMP: 0) */
};
FW_ABI_SIZE(struct fw_rule_key, 20);
FW_ABI_OFFSET(struct fw_rule_key, ruleset, 4);
FW_ABI_OFFSET(struct fw_rule_key, remote, 12);
FW_ABI_OFFSET(struct fw_rule_key, protocol, 16);
FW_ABI_OFFSET(struct fw_rule_key, port, 18);

/* Prefix lengths of fw_rule_key (bits after the prefixlen field). */
#define FW_RULE_BITS_ANY_PROTOCOL 96  /* ruleset, direction, kind, pad1, remote */
#define FW_RULE_BITS_ANY_PORT 112     /* ... protocol, pad2 */
#define FW_RULE_KEY_BITS 128          /* ... port */

/* The fw_rule_kind_mask shape bit of a rule key's prefixlen; whether the entry lives in
 * fw_ranges (FW_RULES_HAVE_PORT_RANGE) or fw_rules (the others). */
static inline __u8 fw_rule_shape(__u32 prefixlen)
{
  if (prefixlen == FW_RULE_KEY_BITS) return FW_RULES_HAVE_EXACT_PORT;
  if (prefixlen == FW_RULE_BITS_ANY_PORT) return FW_RULES_HAVE_ANY_PORT;
  if (prefixlen == FW_RULE_BITS_ANY_PROTOCOL) return FW_RULES_HAVE_ANY_PROTOCOL;
  return FW_RULES_HAVE_PORT_RANGE;
}

enum fw_rule_action {
  FW_ACTION_ALLOW = 1,
  /* Room for cluster-scoped tiers: FW_ACTION_DENY, FW_ACTION_PASS. */
};

/* fw_rule_value.flags. Where rules of several policies produce one key, an entry's flags
 * are the OR of theirs (its rule_id stays the lowest of theirs). */
enum fw_rule_flags {
  FW_RULE_LOG_ALLOWED = 1 << 0, /* emit verdict events for the new flows this entry allows
                                   (annotation flatwall.io/log-allowed on the policy) */
};

struct fw_rule_value {
  __u32 rule_id;   /* which policy rule (the compiler's rule table); in verdict events */
  __u8 action;     /* enum fw_rule_action */
  __u8 flags;      /* enum fw_rule_flags; was always-zero padding, so older entries read 0 */
  __u16 priority;  /* 0 for namespaced NetworkPolicy; tiers will use it */
};
FW_ABI_SIZE(struct fw_rule_value, 8);
FW_ABI_OFFSET(struct fw_rule_value, flags, 5);

#endif /* FLATWALL_ABI_POLICY_MAPS_H_ */
