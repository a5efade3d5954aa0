/* Benchmark driver, not a product object: gives every run of a BPF_PROG_TEST_RUN loop a
 * flow no run has used before, then tail-calls the program under test (slot 0 of
 * fw_bench_target). bench/datapath_bench times the allowed-new-flow path with it at
 * repeat >= 1e6 — the kernel reuses one skb for all runs of a call, so a rewrite here
 * carries over to the next run — and times the same driver in front of the pass-through
 * program as the floor, so the driver's own cost cancels out.
 *
 * Frames: Ethernet + IPv4 without options + TCP, as the benchmark builds them. Each run
 * moves the TCP source port on by one; when it wraps, the last byte of the IPv4 source
 * address moves on too, within the FW_BENCH_SOURCES addresses that follow the frame's
 * first one (the benchmark gives them all the allowed peer's identity). The TCP checksum
 * goes stale: no Flatwall program reads it. Any other frame passes through unchanged. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Distinct source addresses cycled through: with 65536 ports each, 1,048,576 flows, more
 * than one timed call's runs, so no run of a call meets an earlier run's entry. */
#define FW_BENCH_SOURCES 16

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fw_bench_target SEC(".maps");

SEC("tc")
int fw_bench_new_flow(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip4 = data + ETH_HLEN;
	struct tcphdr *tcp = data + ETH_HLEN + sizeof(*ip4);
	__u16 port;

	if ((void *)(tcp + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP) &&
	    ip4->ihl == 5 && ip4->protocol == IPPROTO_TCP) {
		port = bpf_ntohs(tcp->source) + 1;
		tcp->source = bpf_htons(port);
		if (port == 0) {
			__u32 saddr = bpf_ntohl(ip4->saddr);

			saddr = (saddr & ~(__u32)(FW_BENCH_SOURCES - 1)) |
				((saddr + 1) & (FW_BENCH_SOURCES - 1));
			ip4->saddr = bpf_htonl(saddr);
		}
	}
	bpf_tail_call(skb, &fw_bench_target, 0);
	return TC_ACT_SHOT; /* the slot is empty: never mistaken for a pass */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
