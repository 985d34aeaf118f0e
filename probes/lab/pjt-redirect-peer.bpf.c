/* Test-only (server/tracer/peer-redirect.test.ts): a tc ingress classifier that hands every IPv4 packet to
 * the peer of the device with ifindex PJT_PEER_IFINDEX in its own namespace, with bpf_redirect_peer. The
 * test creates that device with this fixed index (`ip link add … index 4242`), so no map is needed. */
#include "common.h"

#define PJT_PEER_IFINDEX 4242

SEC("tc")
int pjt_redirect_peer(struct __sk_buff *skb)
{
	/* IPv4 only: ARP stays on this link, so the test's neighbours resolve as usual. */
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	return bpf_redirect_peer(PJT_PEER_IFINDEX, 0);
}

char _license[] SEC("license") = "GPL";
