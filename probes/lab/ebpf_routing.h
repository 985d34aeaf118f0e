/* The ebpf-routing scenario's datapath (seed 002), shared by bpf_lxc (lxc ingress) and bpf_host (eth0
 * ingress): Cilium-style pod routing in tc, with the ClusterIP translated in BPF because a redirect at lxc
 * ingress never meets iptables' PREROUTING DNAT.
 *
 * Maps: `endpoints` is private to each loaded program (pod IP -> lxc ifindex and MACs on *this* node; the
 * scenario fills every copy after load). The pj_er_* maps are pinned by name in /sys/fs/bpf/tc/globals and
 * so shared by every program of the scenario: the service tables are cluster-wide, and rev-NAT entries are
 * keyed by the client pod's IP, which lives on exactly one node. */
#pragma once
#include "common.h"

#define AF_INET 2
#define IP_HLEN 20 /* options are left to the stack */
#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define IP_SADDR_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define IP_DADDR_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
#define TCP_OFF (ETH_HLEN + IP_HLEN)
#define TCP_CSUM_OFF (TCP_OFF + offsetof(struct tcphdr, check))
#define IP_MF_OFFSET 0x3fff

struct endpoint {
	__u32 ifindex; /* the lxc device, on this node */
	__u8 pod_mac[6];
	__u8 lxc_mac[6];
};

struct svc_key {
	__be32 vip;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct svc_val {
	__u16 count; /* backends at pj_er_backends[base .. base+count) */
	__u16 base;
};

struct backend {
	__be32 ip;
	__be16 port;
	__u16 pad;
};

/* A translated flow, as seen in the backend's reply: restore the service address as its source. */
struct revnat_key {
	__be32 client;
	__be32 backend;
	__be16 client_port;
	__be16 backend_port;
	__u8 proto;
	__u8 pad[3];
};

struct revnat_val {
	__be32 vip;
	__be16 port;
	__u16 pad;
};

struct cfg {
	__be32 cluster_net; /* the cluster's pod CIDR; mask 0 means not configured yet: pass everything */
	__be32 cluster_mask;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __be32);
	__type(value, struct endpoint);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct svc_key);
	__type(value, struct svc_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pj_er_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pj_er_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct revnat_key);
	__type(value, struct revnat_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pj_er_revnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pj_er_cfg SEC(".maps");

/* The IPv4 header of a plain (no options) packet, or NULL: everything else goes to the stack untouched. */
static __always_inline struct iphdr *ipv4_of(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return NULL;
	return ip;
}

static __always_inline struct tcphdr *tcp_of(struct __sk_buff *skb, struct iphdr *ip)
{
	struct tcphdr *tcp = (void *)(long)skb->data + TCP_OFF;

	if (ip->protocol != IPPROTO_TCP || (ip->frag_off & bpf_htons(IP_MF_OFFSET)) ||
	    (void *)(tcp + 1) > (void *)(long)skb->data_end)
		return NULL;
	return tcp;
}

/* Pod-to-pod traffic is what BPF routes; anything else (the node, the host, NodePort) keeps the stack,
 * so netfilter sees both directions of it. */
static __always_inline int pod_to_pod(struct iphdr *ip)
{
	__u32 zero = 0;
	struct cfg *c = bpf_map_lookup_elem(&pj_er_cfg, &zero);

	if (!c || !c->cluster_mask)
		return 0;
	return (ip->saddr & c->cluster_mask) == c->cluster_net && (ip->daddr & c->cluster_mask) == c->cluster_net;
}

/* Rewrites one address and one TCP port, fixing the IP and TCP checksums (pseudo-header included). */
static __always_inline int nat_tcp(struct __sk_buff *skb, __u32 addr_off, __be32 from, __be32 to, __u32 port_off,
				   __be16 pfrom, __be16 pto)
{
	if (bpf_l4_csum_replace(skb, TCP_CSUM_OFF, from, to, BPF_F_PSEUDO_HDR | sizeof(to)) ||
	    bpf_l4_csum_replace(skb, TCP_CSUM_OFF, pfrom, pto, sizeof(pto)) ||
	    bpf_l3_csum_replace(skb, IP_CSUM_OFF, from, to, sizeof(to)) ||
	    bpf_skb_store_bytes(skb, addr_off, &to, sizeof(to), 0) ||
	    bpf_skb_store_bytes(skb, port_off, &pto, sizeof(pto), 0))
		return -1;
	return 0;
}

/* A reply of a translated flow gets the service address back as its source. Returns <0 on error. */
static __always_inline int rev_nat(struct __sk_buff *skb)
{
	struct iphdr *ip = ipv4_of(skb);
	struct tcphdr *tcp;
	struct revnat_key k = {};
	struct revnat_val *v;

	if (!ip || !(tcp = tcp_of(skb, ip)))
		return 0;
	k.client = ip->daddr;
	k.backend = ip->saddr;
	k.client_port = tcp->dest;
	k.backend_port = tcp->source;
	k.proto = IPPROTO_TCP;
	v = bpf_map_lookup_elem(&pj_er_revnat, &k);
	if (!v)
		return 0;
	return nat_tcp(skb, IP_SADDR_OFF, k.backend, v->vip, TCP_OFF + offsetof(struct tcphdr, source),
		       k.backend_port, v->port);
}

/* Routing means one hop less; the checksum covers TTL and protocol as one 16-bit word. */
static __always_inline int ttl_dec(struct __sk_buff *skb)
{
	struct iphdr *ip = ipv4_of(skb);
	__u8 ttl;

	if (!ip || ip->ttl <= 1)
		return -1;
	ttl = ip->ttl - 1;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, bpf_htons((__u16)ip->ttl << 8), bpf_htons((__u16)ttl << 8), 2) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct iphdr, ttl), &ttl, 1, 0))
		return -1;
	return 0;
}

/* Into a pod on this node: its veth peer's ingress, skipping the node's stack (and so its iptables). */
static __always_inline int deliver_local(struct __sk_buff *skb, struct endpoint *ep)
{
	struct endpoint e = *ep; /* helpers below may move the packet; keep the map value's copy */

	if (rev_nat(skb) < 0 || ttl_dec(skb) < 0)
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, 0, e.pod_mac, 6, 0) || bpf_skb_store_bytes(skb, 6, e.lxc_mac, 6, 0))
		return TC_ACT_SHOT;
	return bpf_redirect_peer(e.ifindex, 0);
}
