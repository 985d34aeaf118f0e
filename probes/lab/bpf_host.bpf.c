/* ebpf-routing (seed 002): `from-netdev`, on each node's eth0 ingress. A pod-to-pod packet from another
 * node for a pod on this one goes straight into the pod's eth0 with bpf_redirect_peer (after the reverse
 * NAT of a ClusterIP reply); the rest (ARP, NodePort, the host) goes up the stack. */
#include "ebpf_routing.h"

SEC("from-netdev")
int from_netdev(struct __sk_buff *skb)
{
	struct iphdr *ip = ipv4_of(skb);
	struct endpoint *ep;
	__be32 daddr;

	if (!ip || !pod_to_pod(ip))
		return TC_ACT_OK;
	daddr = ip->daddr;
	ep = bpf_map_lookup_elem(&endpoints, &daddr);
	if (!ep)
		return TC_ACT_OK;
	return deliver_local(skb, ep);
}

char LICENSE[] SEC("license") = "GPL";
