/* Packet parsing: Ethernet, IPv4 (options via IHL) or IPv6 (extension headers walked,
 * bounded), then the transport header, into a family-neutral struct fw_packet whose
 * addresses are IPv4-mapped fw_addr.
 *
 * Every header is bounds-checked twice: against data_end (what the verifier needs and
 * what is readable) and against the datagram's own length fields (what the sender
 * claims), so a short packet is never read as ports. A malformed packet gets one of the
 * reasons MALFORMED (network layer), MALFORMED_L4 (transport) or EXT_HEADERS.
 *
 * Not here: what the hooks do with the result (hook.h). */
#ifndef FLATWALL_BPF_LIB_PARSE_H_
#define FLATWALL_BPF_LIB_PARSE_H_

#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include "lib/base.h"

/* Extension headers walked before giving up with FW_REASON_EXT_HEADERS. */
#define FW_MAX_EXT_HEADERS 8
/* Non-linear packets are pulled up to this many bytes so headers are directly readable. */
#define FW_PULL_BYTES 512

#define FW_IP4_MF 0x2000
#define FW_IP4_OFFSET 0x1fff
#define FW_IP6_FRAG_OFFSET 0xfff8
#define FW_IP6_FRAG_MORE 0x0001

/* ICMPv4 types (RFC 792). <linux/icmp.h> pulls in libc headers, so they are named here. */
#define FW_ICMP4_ECHO_REPLY 0
#define FW_ICMP4_DEST_UNREACH 3
#define FW_ICMP4_ECHO 8
#define FW_ICMP4_TIME_EXCEEDED 11
#define FW_ICMP4_PARAMETER_PROBLEM 12

/* ICMPv6 neighbour discovery types (RFC 4861): router solicitation .. redirect. */
#define FW_ICMP6_ND_FIRST 133
#define FW_ICMP6_ND_LAST 137

enum fw_fragment_kind {
	FW_FRAG_NONE = 0,
	FW_FRAG_FIRST = 1, /* offset 0, more fragments follow: has the transport header */
	FW_FRAG_LATER = 2, /* offset > 0: no transport header, ports unknown */
};

enum fw_icmp_kind {
	FW_ICMP_NONE = 0,  /* not ICMP */
	FW_ICMP_ECHO = 1,  /* echo request or reply: identifier in both ports */
	FW_ICMP_ERROR = 2, /* quotes another packet: fw_packet.inner */
	FW_ICMP_ND = 3,    /* ICMPv6 router/neighbour solicitation/advertisement, redirect */
	FW_ICMP_OTHER = 4,
};

struct fw_tuple {
	struct fw_addr saddr FW_ADDR_ALIGN;
	struct fw_addr daddr;
	__be16 sport; /* network order; 0 where the protocol has none */
	__be16 dport;
	__u8 protocol;
	__u8 valid; /* the addresses and protocol are set */
	__u8 pad[2];
};

struct fw_packet {
	struct fw_tuple tuple; /* valid once the IP header parsed, even if L4 is malformed */
	struct fw_tuple inner; /* ICMP errors: the quoted packet, valid if fully quoted */
	__u32 frag_id;         /* IPv4 identification or IPv6 fragment id, host order */
	__u8 fragment;         /* enum fw_fragment_kind */
	__u8 icmp;             /* enum fw_icmp_kind */
	__u8 tcp_flags;
	__u8 icmp_type; /* set with `icmp`; only the verdict log reads them */
	__u8 icmp_code;
	__u8 pad[3];
};

/* TCP, UDP and SCTP start with the two ports. */
static __always_inline void fw__ports(const void *l4, struct fw_tuple *tuple)
{
	const __be16 *ports = l4;

	tuple->sport = ports[0];
	tuple->dport = ports[1];
}

static __always_inline bool fw__is_echo(__u8 protocol, __u8 type)
{
	if (protocol == IPPROTO_ICMP)
		return type == FW_ICMP4_ECHO || type == FW_ICMP4_ECHO_REPLY;
	return type == ICMPV6_ECHO_REQUEST || type == ICMPV6_ECHO_REPLY;
}

/* Ports of a quoted packet's first 8 transport bytes (all an ICMP error must carry). */
static __always_inline void fw__inner_ports(const __u8 *l4, struct fw_tuple *inner)
{
	switch (inner->protocol) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		fw__ports(l4, inner);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (fw__is_echo(inner->protocol, l4[0])) {
			inner->sport = *(const __be16 *)(l4 + 4);
			inner->dport = inner->sport;
		}
		break;
	}
}

/* The packet quoted by an ICMPv4 error, at `off`, `len` bytes of datagram left. Left
 * invalid (the error is then judged as plain ICMP) unless it is complete: an IPv4 header
 * and 8 transport bytes of a first or only fragment. */
static __always_inline void fw__parse_inner4(void *data, void *data_end, __u32 off, __u32 len,
					     struct fw_tuple *inner)
{
	struct iphdr *ip4 = data + off;
	__u32 hlen;
	__u8 *l4;

	if ((void *)(ip4 + 1) > data_end || len < sizeof(*ip4))
		return;
	if (ip4->version != 4 || ip4->ihl < 5 || (bpf_ntohs(ip4->frag_off) & FW_IP4_OFFSET))
		return;
	hlen = ip4->ihl * 4;
	l4 = data + off + hlen;
	if ((void *)(l4 + 8) > data_end || len < hlen + 8)
		return;
	fw_addr_set4(&inner->saddr, ip4->saddr);
	fw_addr_set4(&inner->daddr, ip4->daddr);
	inner->protocol = ip4->protocol;
	fw__inner_ports(l4, inner);
	inner->valid = 1;
}

/* As fw__parse_inner4 for ICMPv6 errors. A quoted packet with extension headers is left
 * invalid: errors about such flows are judged as plain ICMPv6. */
static __always_inline void fw__parse_inner6(void *data, void *data_end, __u32 off, __u32 len,
					     struct fw_tuple *inner)
{
	struct ipv6hdr *ip6 = data + off;
	__u8 *l4 = data + off + sizeof(*ip6);

	if ((void *)(l4 + 8) > data_end || len < sizeof(*ip6) + 8 || ip6->version != 6)
		return;
	switch (ip6->nexthdr) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
	case IPPROTO_ICMPV6:
		break;
	default:
		return;
	}
	__builtin_memcpy(&inner->saddr, &ip6->saddr, sizeof(inner->saddr));
	__builtin_memcpy(&inner->daddr, &ip6->daddr, sizeof(inner->daddr));
	inner->protocol = ip6->nexthdr;
	fw__inner_ports(l4, inner);
	inner->valid = 1;
}

static __always_inline int fw__parse_icmp(void *data, void *data_end, __u32 off, __u32 len,
					  struct fw_packet *pkt, bool v6)
{
	__u8 *l4 = data + off;
	__u8 type;

	/* Type, code, checksum and the 4 bytes every message has (echo: identifier). */
	if ((void *)(l4 + 8) > data_end || len < 8)
		return FW_REASON_MALFORMED_L4;
	type = l4[0];
	pkt->icmp_type = type;
	pkt->icmp_code = l4[1];
	if (fw__is_echo(pkt->tuple.protocol, type)) {
		pkt->icmp = FW_ICMP_ECHO;
		pkt->tuple.sport = *(__be16 *)(l4 + 4);
		pkt->tuple.dport = pkt->tuple.sport;
		return FW_REASON_NONE;
	}
	if (v6) {
		if (type >= FW_ICMP6_ND_FIRST && type <= FW_ICMP6_ND_LAST) {
			pkt->icmp = FW_ICMP_ND;
		} else if (type >= ICMPV6_DEST_UNREACH && type <= ICMPV6_PARAMPROB) {
			pkt->icmp = FW_ICMP_ERROR;
			fw__parse_inner6(data, data_end, off + 8, len - 8, &pkt->inner);
		} else {
			pkt->icmp = FW_ICMP_OTHER;
		}
		return FW_REASON_NONE;
	}
	if (type == FW_ICMP4_DEST_UNREACH || type == FW_ICMP4_TIME_EXCEEDED ||
	    type == FW_ICMP4_PARAMETER_PROBLEM) {
		pkt->icmp = FW_ICMP_ERROR;
		fw__parse_inner4(data, data_end, off + 8, len - 8, &pkt->inner);
	} else {
		pkt->icmp = FW_ICMP_OTHER;
	}
	return FW_REASON_NONE;
}

/* The transport header at `off` with `len` bytes of datagram left. Protocols without
 * ports (and ICMP of the other family) keep ports 0. */
static __always_inline int fw__parse_l4(void *data, void *data_end, __u32 off, __u32 len,
					struct fw_packet *pkt, bool v6)
{
	__u8 *l4 = data + off;

	switch (pkt->tuple.protocol) {
	case IPPROTO_TCP:
		if ((void *)(l4 + 20) > data_end || len < 20)
			return FW_REASON_MALFORMED_L4;
		/* data offset: the header (with options) must fit in the datagram */
		if ((l4[12] >> 4) < 5 || (__u32)(l4[12] >> 4) * 4 > len)
			return FW_REASON_MALFORMED_L4;
		fw__ports(l4, &pkt->tuple);
		pkt->tcp_flags = l4[13];
		return FW_REASON_NONE;
	case IPPROTO_UDP:
		if ((void *)(l4 + 8) > data_end || len < 8)
			return FW_REASON_MALFORMED_L4;
		fw__ports(l4, &pkt->tuple);
		return FW_REASON_NONE;
	case IPPROTO_SCTP: /* common header: ports, verification tag, checksum */
		if ((void *)(l4 + 12) > data_end || len < 12)
			return FW_REASON_MALFORMED_L4;
		fw__ports(l4, &pkt->tuple);
		return FW_REASON_NONE;
	case IPPROTO_ICMP:
		if (v6)
			return FW_REASON_NONE;
		return fw__parse_icmp(data, data_end, off, len, pkt, false);
	case IPPROTO_ICMPV6:
		if (!v6)
			return FW_REASON_NONE;
		return fw__parse_icmp(data, data_end, off, len, pkt, true);
	}
	return FW_REASON_NONE;
}

/* `avail`: bytes after the Ethernet header in the whole skb (non-linear part included). */
static __always_inline int fw__parse4(void *data, void *data_end, __u32 avail,
				      struct fw_packet *pkt)
{
	struct iphdr *ip4 = data + ETH_HLEN;
	__u32 hlen, ip_len;
	__u16 frag;

	if ((void *)(ip4 + 1) > data_end)
		return FW_REASON_MALFORMED;
	if (ip4->version != 4 || ip4->ihl < 5)
		return FW_REASON_MALFORMED;
	hlen = ip4->ihl * 4;
	if (data + ETH_HLEN + hlen > data_end)
		return FW_REASON_MALFORMED;
	ip_len = bpf_ntohs(ip4->tot_len);
	if (ip_len == 0) /* GSO packets larger than 64 KiB (BIG TCP) carry 0 */
		ip_len = avail;
	else if (ip_len < hlen || ip_len > avail)
		return FW_REASON_MALFORMED;

	fw_addr_set4(&pkt->tuple.saddr, ip4->saddr);
	fw_addr_set4(&pkt->tuple.daddr, ip4->daddr);
	pkt->tuple.protocol = ip4->protocol;
	pkt->tuple.valid = 1;

	frag = bpf_ntohs(ip4->frag_off);
	if (frag & (FW_IP4_OFFSET | FW_IP4_MF)) {
		pkt->frag_id = bpf_ntohs(ip4->id);
		if (frag & FW_IP4_OFFSET) {
			pkt->fragment = FW_FRAG_LATER;
			return FW_REASON_NONE;
		}
		pkt->fragment = FW_FRAG_FIRST;
	}
	return fw__parse_l4(data, data_end, ETH_HLEN + hlen, ip_len - hlen, pkt, false);
}

static __always_inline bool fw__is_ext_header(__u8 nexthdr)
{
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_MH:
	case 139: /* HIP */
	case 140: /* Shim6 */
		return true;
	}
	return false;
}

static __always_inline int fw__parse6(void *data, void *data_end, __u32 avail,
				      struct fw_packet *pkt)
{
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	__u32 off = ETH_HLEN + sizeof(*ip6);
	__u32 end, ip_len;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return FW_REASON_MALFORMED;
	ip_len = bpf_ntohs(ip6->payload_len);
	if (ip_len == 0) /* jumbo and BIG TCP GSO packets */
		ip_len = avail - sizeof(*ip6);
	else if (ip_len > avail - sizeof(*ip6))
		return FW_REASON_MALFORMED;
	end = off + ip_len;

	__builtin_memcpy(&pkt->tuple.saddr, &ip6->saddr, sizeof(pkt->tuple.saddr));
	__builtin_memcpy(&pkt->tuple.daddr, &ip6->daddr, sizeof(pkt->tuple.daddr));
	nexthdr = ip6->nexthdr;
	pkt->tuple.protocol = nexthdr;
	pkt->tuple.valid = 1;

#pragma unroll
	for (i = 0; i < FW_MAX_EXT_HEADERS; i++) {
		__u8 *hdr = data + off;

		if (!fw__is_ext_header(nexthdr))
			break;
		if ((void *)(hdr + 8) > data_end || off + 8 > end)
			return FW_REASON_MALFORMED;
		if (nexthdr == IPPROTO_FRAGMENT) {
			__u16 frag = bpf_ntohs(*(__be16 *)(hdr + 2));

			nexthdr = hdr[0];
			off += 8;
			pkt->tuple.protocol = nexthdr;
			if (!(frag & (FW_IP6_FRAG_OFFSET | FW_IP6_FRAG_MORE)))
				continue; /* atomic fragment: a whole datagram */
			pkt->frag_id = bpf_ntohl(*(__be32 *)(hdr + 4));
			if (frag & FW_IP6_FRAG_OFFSET) {
				pkt->fragment = FW_FRAG_LATER;
				return FW_REASON_NONE;
			}
			pkt->fragment = FW_FRAG_FIRST;
			continue;
		}
		off += nexthdr == IPPROTO_AH ? ((__u32)hdr[1] + 2) * 4 : ((__u32)hdr[1] + 1) * 8;
		nexthdr = hdr[0];
		pkt->tuple.protocol = nexthdr;
	}
	if (fw__is_ext_header(nexthdr))
		return FW_REASON_EXT_HEADERS;
	if (off > end)
		return FW_REASON_MALFORMED;
	return fw__parse_l4(data, data_end, off, end - off, pkt, true);
}

/* Parses the packet into *pkt (zeroed by the caller). Returns FW_REASON_NONE when the
 * packet is IP with every header needed for a decision present, FW_REASON_NOT_IP for
 * other ethertypes, or the drop reason of the first bad header.
 * A BPF subprogram, not inlined: inlined, each of its ~15 early returns became a merge
 * point where clang re-materialised the caller's decision fields (~20 instructions per
 * bounds check, ~13 ns per established packet); the call costs ~2 ns. */
static __noinline int fw_parse(struct __sk_buff *skb, struct fw_packet *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth;

	if (fw_unlikely(data + FW_PULL_BYTES > data_end && skb->len > data_end - data)) {
		bpf_skb_pull_data(skb, skb->len < FW_PULL_BYTES ? skb->len : FW_PULL_BYTES);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return FW_REASON_MALFORMED;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return fw__parse4(data, data_end, skb->len - ETH_HLEN, pkt);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return fw__parse6(data, data_end, skb->len - ETH_HLEN, pkt);
	return FW_REASON_NOT_IP;
}

#endif /* FLATWALL_BPF_LIB_PARSE_H_ */
