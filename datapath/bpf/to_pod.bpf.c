/* Entry point for the tc egress of a pod's host-side veth: traffic to the pod, judged by the pod's
 * ingress policy (and, for Service traffic kube-proxy sent here, the client's egress).
 * Everything else lives in lib/hook.h. */
#include "lib/hook.h"

SEC("tc")
int fw_to_pod(struct __sk_buff *skb)
{
	return fw_handle(skb, FW_HOOK_TO_POD);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
