/* Entry point for the tc egress of the node's uplink: Service traffic to a backend on another node,
 * judged by the client pod's egress policy. Other packets pass at the cost of one test.
 * Everything else lives in lib/hook.h. */
#include "lib/hook.h"

SEC("tc")
int fw_uplink(struct __sk_buff *skb)
{
	return fw_handle(skb, FW_HOOK_UPLINK);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
