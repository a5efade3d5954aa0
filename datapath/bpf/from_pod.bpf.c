/* Entry point for the tc ingress of a pod's host-side veth: traffic from the pod, judged by the pod's
 * egress policy.
 * Everything else lives in lib/hook.h. */
#include "lib/hook.h"

SEC("tc")
int fw_from_pod(struct __sk_buff *skb)
{
	return fw_handle(skb, FW_HOOK_FROM_POD);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
