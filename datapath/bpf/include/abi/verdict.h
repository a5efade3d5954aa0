/* Flatwall ABI: why a packet was allowed or dropped. One enum for the BPF programs, the
 * policy compiler's lookup (flatwall matrix/explain) and the verdict log, so the three
 * can never disagree on a name.
 *
 * These are not TC_ACT_* values: a program maps every verdict to TC_ACT_OK or
 * TC_ACT_SHOT itself. */
#ifndef FLATWALL_ABI_VERDICT_H_
#define FLATWALL_ABI_VERDICT_H_

#include "abi/common.h"

enum fw_verdict {
  FW_VERDICT_ALLOW = 1,
  FW_VERDICT_DENY = 2,
};

/* The step of the lookup that decided. Allow reasons first, then drop reasons. */
enum fw_reason {
  FW_REASON_NONE = 0,
  /* allowed */
  FW_REASON_NO_ENDPOINT = 1,      /* neither side is a local pod the agent manages */
  FW_REASON_NOT_ISOLATED = 2,     /* no policy selects the pod for this direction */
  FW_REASON_HOST = 3,             /* the peer is the pod's own node */
  FW_REASON_RULE = 4,             /* a rule allowed it (rule_id says which) */
  FW_REASON_ESTABLISHED = 5,      /* conntrack: a packet of an allowed flow */
  FW_REASON_RELATED = 6,          /* conntrack: ICMP error about an allowed flow */
  FW_REASON_NEIGHBOR_DISCOVERY = 7, /* ICMPv6 ND/RS/RA always pass */
  FW_REASON_NOT_IP = 8,           /* ARP and other non-IP ethertypes pass */
  FW_REASON_SERVICE_DEFERRED = 9, /* to a Service address: judged at the backend */
  /* dropped */
  FW_REASON_DEFAULT_DENY = 32,    /* isolated and no rule matched */
  FW_REASON_REVOKED = 33,         /* a tracked flow the current policy no longer allows */
  FW_REASON_MALFORMED = 34,       /* truncated or invalid IP header */
  FW_REASON_MALFORMED_L4 = 35,    /* truncated or invalid transport header */
  FW_REASON_FRAGMENT = 36,        /* a non-first fragment whose first fragment was not seen */
  FW_REASON_EXT_HEADERS = 37,     /* IPv6 extension-header chain too long to walk */
  FW_REASON_SPOOFED = 38,         /* from a pod with a source address not its own */
  FW_REASON_COUNT = 39,
};

#endif /* FLATWALL_ABI_VERDICT_H_ */
