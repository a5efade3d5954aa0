/* Benchmark floor, not a product object: a tc program that only returns TC_ACT_OK, so
 * bench/datapath_bench can subtract what BPF_PROG_TEST_RUN itself costs per packet (skb
 * setup, the run loop, timing) from the figures of the real programs. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

SEC("tc")
int fw_pass_through(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
