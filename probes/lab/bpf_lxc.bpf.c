/* ebpf-routing (seed 002): `from-container`, on each pod's lxc veth ingress, i.e. what the pod sends.
 * ClusterIP traffic is translated here (iptables would never see it: the redirect below skips PREROUTING);
 * then pod-to-pod traffic is routed in BPF: a local pod's eth0 with bpf_redirect_peer, another node's pod
 * out of the FIB's device with bpf_redirect_neigh. Everything else goes up the node's stack. */
#include "ebpf_routing.h"

/* A deterministic hash of the client's side of the flow: every packet of one connection picks the same
 * backend, and many connections spread over all of them. */
static __always_inline __u32 flow_hash(__be32 saddr, __be16 sport)
{
	__u32 h = (saddr ^ ((__u32)sport << 16 | sport)) * 2654435761u;

	return h ^ (h >> 16);
}

/* DNAT to a backend if the packet is for a service; records the rev-NAT entry the reply will need. */
static __always_inline int lb_translate(struct __sk_buff *skb)
{
	struct iphdr *ip = ipv4_of(skb);
	struct tcphdr *tcp;
	struct svc_key sk = {};
	struct svc_val *sv;
	struct backend *be;
	struct revnat_key rk = {};
	struct revnat_val rv = {};
	__u32 idx;

	if (!ip || !(tcp = tcp_of(skb, ip)))
		return 0;
	sk.vip = ip->daddr;
	sk.port = tcp->dest;
	sk.proto = IPPROTO_TCP;
	sv = bpf_map_lookup_elem(&pj_er_services, &sk);
	if (!sv || !sv->count) {
		/* A new direct connection on a tuple an old service flow used: its replies must not be rev-NATed. */
		if (tcp->syn && !tcp->ack) {
			rk.client = ip->saddr;
			rk.backend = ip->daddr;
			rk.client_port = tcp->source;
			rk.backend_port = tcp->dest;
			rk.proto = IPPROTO_TCP;
			bpf_map_delete_elem(&pj_er_revnat, &rk);
		}
		return 0;
	}
	idx = sv->base + flow_hash(ip->saddr, tcp->source) % sv->count;
	be = bpf_map_lookup_elem(&pj_er_backends, &idx);
	/* A backend calling its own service would get its own packet back from outside, which Linux drops as a
	 * martian; Cilium SNATs that case to a loopback address, this lab simply takes the next backend. */
	if (be && be->ip == ip->saddr && sv->count > 1) {
		idx = sv->base + (idx - sv->base + 1) % sv->count;
		be = bpf_map_lookup_elem(&pj_er_backends, &idx);
	}
	if (!be)
		return -1;
	rk.client = ip->saddr;
	rk.backend = be->ip;
	rk.client_port = tcp->source;
	rk.backend_port = be->port;
	rk.proto = IPPROTO_TCP;
	rv.vip = sk.vip;
	rv.port = sk.port;
	if (bpf_map_update_elem(&pj_er_revnat, &rk, &rv, BPF_ANY))
		return -1;
	return nat_tcp(skb, IP_DADDR_OFF, sk.vip, rk.backend, TCP_OFF + offsetof(struct tcphdr, dest), sk.port,
		       rk.backend_port);
}

/* To a pod on another node: the node's routing table names the device and next hop; the kernel's
 * neighbour table fills in the MACs. */
static __always_inline int fib_redirect(struct __sk_buff *skb)
{
	struct iphdr *ip = ipv4_of(skb);
	struct bpf_fib_lookup p = {};
	struct bpf_redir_neigh nh = {};
	long rc;

	if (!ip)
		return TC_ACT_OK;
	p.family = AF_INET;
	p.l4_protocol = ip->protocol;
	p.tot_len = bpf_ntohs(ip->tot_len);
	p.tos = ip->tos;
	p.ipv4_src = ip->saddr;
	p.ipv4_dst = ip->daddr;
	p.ifindex = skb->ingress_ifindex;
	rc = bpf_fib_lookup(skb, &p, sizeof(p), 0);
	/* No route, or one back where it came from: let the stack decide (and answer with ICMP). */
	if ((rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) || p.ifindex == skb->ingress_ifindex)
		return TC_ACT_OK;
	if (ttl_dec(skb) < 0)
		return TC_ACT_OK;
	nh.nh_family = AF_INET;
	nh.ipv4_nh = p.ipv4_dst; /* the gateway, after the lookup */
	return bpf_redirect_neigh(p.ifindex, &nh, sizeof(nh), 0);
}

SEC("from-container")
int from_container(struct __sk_buff *skb)
{
	struct iphdr *ip;
	struct endpoint *ep;
	__be32 daddr;

	if (lb_translate(skb) < 0)
		return TC_ACT_SHOT;
	ip = ipv4_of(skb);
	if (!ip || !pod_to_pod(ip))
		return TC_ACT_OK; /* ARP for the gateway, the node, the host: the node's stack */
	daddr = ip->daddr;
	ep = bpf_map_lookup_elem(&endpoints, &daddr);
	if (ep)
		return deliver_local(skb, ep);
	return fib_redirect(skb);
}

char LICENSE[] SEC("license") = "GPL";
