// SPDX-License-Identifier: GPL-2.0
/* The dsr scenario (seed 000): NodePort load balancing with Direct Server Return in the style of Cilium's
 * DSR_ENCAP_NONE, on each node's eth0.
 *   from-netdev (eth0 ingress): a packet to a NodePort on a local address gets a backend (remembered per
 *     flow), is DNATed to it and, if the backend is on another node, carries IPv4 option 0x9a (on a TCP SYN
 *     and every UDP packet) and is sent there with bpf_redirect_neigh: no SNAT, and none of this node's
 *     netfilter, whose conntrack would only ever see one side of the flow. A packet that arrives with the
 *     option teaches the backend's node which service address its reply must come from.
 *   to-netdev (eth0 egress, after netfilter): replies of those flows get the service address and port back,
 *     and leave straight for the client.
 * The maps are pinned by name (tc/globals), so the two programs share them; their keys carry the node
 * address or the backend, so both nodes can use the same maps. */
#include "common.h"
#include "dsr.h"

#define AF_INET 2
#define IP_CSUM_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, check))
#define IP_TTL_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, ttl))
#define IP_SRC_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, saddr))
#define IP_DST_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, daddr))
#define IP_MF_OFFSET 0x3fff

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct dsr_svc_key);
	__type(value, struct dsr_svc);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pj_dsr_svc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DSR_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct dsr_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pj_dsr_backends SEC(".maps");

/* LB node: client -> NodePort flow to the backend it was given. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct dsr_flow);
	__type(value, struct dsr_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pj_dsr_lb_flows SEC(".maps");

/* Backend node: client -> backend flow to the service address its replies must carry. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct dsr_flow);
	__type(value, struct dsr_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pj_dsr_rev_nat SEC(".maps");

/* What the programs need of a packet, copied out before any helper invalidates the packet pointers. */
struct pkt {
	__be32 saddr, daddr;
	__be16 sport, dport;
	__u32 l4;  /* offset of the L4 header */
	__u32 csum; /* offset of the L4 checksum */
	__u8 proto, ttl, ihl, syn;
	__be32 opt0, opt1; /* the first 8 option bytes, when ihl == 7 */
};

static __always_inline int parse(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	if (ip->ihl < 5 || (ip->frag_off & bpf_htons(IP_MF_OFFSET)))
		return -1; /* no ports in a fragment */
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return -1;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	p->ttl = ip->ttl;
	p->ihl = ip->ihl;
	p->l4 = ETH_HLEN + ip->ihl * 4;
	p->csum = p->l4 + (p->proto == IPPROTO_TCP ? __builtin_offsetof(struct tcphdr, check)
						  : __builtin_offsetof(struct udphdr, check));
	p->opt0 = p->opt1 = 0;
	if (ip->ihl == 7 && (void *)ip + 28 <= end) {
		p->opt0 = *(__be32 *)(ip + 1);
		p->opt1 = *((__be32 *)(ip + 1) + 1);
	}
	__u8 l4h[14];
	if (bpf_skb_load_bytes(skb, p->l4, l4h, p->proto == IPPROTO_TCP ? 14 : 4))
		return -1;
	p->sport = *(__be16 *)&l4h[0];
	p->dport = *(__be16 *)&l4h[2];
	p->syn = p->proto == IPPROTO_TCP && (l4h[13] & 0x12) == 0x02; /* TCP flags: SYN without ACK */
	return 0;
}

static __always_inline __u16 csum_fold(__s64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Rewrites one address and port (the destination for DNAT, the source for reverse NAT) with the checksums.
 * The address is in the pseudo-header (BPF_F_PSEUDO_HDR, or a CHECKSUM_PARTIAL packet ends up wrong); the
 * port is not. BPF_F_MARK_MANGLED_0 keeps a UDP checksum of 0 meaning "none". */
static __always_inline int rewrite(struct __sk_buff *skb, const struct pkt *p, int dst, __be32 addr,
				   __be16 port)
{
	__u64 mangled = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__be32 old_addr = dst ? p->daddr : p->saddr;
	__be16 old_port = dst ? p->dport : p->sport;

	if (bpf_l4_csum_replace(skb, p->csum, old_addr, addr, BPF_F_PSEUDO_HDR | mangled | 4) ||
	    bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_addr, addr, 4) ||
	    bpf_skb_store_bytes(skb, dst ? IP_DST_OFF : IP_SRC_OFF, &addr, 4, 0) ||
	    bpf_l4_csum_replace(skb, p->csum, old_port, port, mangled | 2) ||
	    bpf_skb_store_bytes(skb, p->l4 + (dst ? 2 : 0), &port, 2, 0))
		return -1;
	return 0;
}

/* Cilium's DSR_ENCAP_NONE: 8 bytes of option after a 20-byte header. opt[0] = htonl(0x9a080000 | port) and
 * opt[1] = htonl(addr) with port and addr already in network order, so on x86 the stored bytes read
 * 9a 08 a8 7a 02 00 12 ac for 172.18.0.2:31400 (DESIGN.md). */
static __always_inline int insert_option(struct __sk_buff *skb, __be32 svc_addr, __be16 svc_port)
{
	if (bpf_skb_adjust_room(skb, DSR_OPT_LEN, BPF_ADJ_ROOM_NET, 0))
		return -1;
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	__be32 *opt = (void *)(ip + 1);

	if ((void *)ip + 28 > end)
		return -1;
	ip->ihl = 7;
	ip->tot_len = bpf_htons(bpf_ntohs(ip->tot_len) + DSR_OPT_LEN);
	opt[0] = bpf_htonl(DSR_IPV4_OPT_32 | svc_port);
	opt[1] = bpf_htonl(svc_addr);
	/* The header changed in three places: recompute its checksum rather than patch it. */
	ip->check = 0;
	ip->check = csum_fold(bpf_csum_diff(0, 0, (__be32 *)ip, 28, 0));
	return 0;
}

/* True if addr is one of this node's addresses (kube-proxy's `--dst-type LOCAL` for NodePorts). */
static __always_inline int is_local(struct __sk_buff *skb, const struct pkt *p)
{
	struct bpf_fib_lookup f = { .family = AF_INET, .ipv4_src = p->saddr, .ipv4_dst = p->daddr,
				    .ifindex = skb->ifindex };
	return bpf_fib_lookup(skb, &f, sizeof(f), 0) == BPF_FIB_LKUP_RET_NOT_FWDED;
}

/* The device the node routes addr out of, or 0. */
static __always_inline __u32 route_dev(struct __sk_buff *skb, const struct pkt *p, __be32 addr)
{
	struct bpf_fib_lookup f = { .family = AF_INET, .ipv4_src = p->saddr, .ipv4_dst = addr,
				    .ifindex = skb->ifindex };
	long rc = bpf_fib_lookup(skb, &f, sizeof(f), BPF_FIB_LOOKUP_SKIP_NEIGH);
	return rc == BPF_FIB_LKUP_RET_SUCCESS ? f.ifindex : 0;
}

static __always_inline void flow_key(struct dsr_flow *k, __be32 saddr, __be32 daddr, __be16 sport,
				     __be16 dport, __u8 proto)
{
	__builtin_memset(k, 0, sizeof(*k));
	put_ip(k->saddr, saddr);
	put_ip(k->daddr, daddr);
	k->sport = bpf_ntohs(sport);
	k->dport = bpf_ntohs(dport);
	k->proto = proto;
}

/* The flow's backend: the one it already has, or a random one of the service's, remembered. */
static __always_inline int pick_backend(const struct pkt *p, const struct dsr_svc *svc, struct dsr_addr *out)
{
	struct dsr_flow k;
	flow_key(&k, p->saddr, p->daddr, p->sport, p->dport, p->proto);
	struct dsr_addr *be = bpf_map_lookup_elem(&pj_dsr_lb_flows, &k);

	if (!be) {
		if (svc->count == 0)
			return -1;
		__u32 idx = svc->first + bpf_get_prandom_u32() % svc->count;
		be = bpf_map_lookup_elem(&pj_dsr_backends, &idx);
		if (!be)
			return -1;
		bpf_map_update_elem(&pj_dsr_lb_flows, &k, be, BPF_ANY);
	}
	*out = *be;
	return 0;
}

static __always_inline int remember_reply(const struct pkt *p, __be32 backend, __be16 bport, __be32 svc_addr,
					  __be16 svc_port)
{
	struct dsr_flow k;
	struct dsr_addr v = { .port = bpf_ntohs(svc_port) };

	flow_key(&k, p->saddr, backend, p->sport, bport, p->proto);
	put_ip(v.addr, svc_addr);
	return bpf_map_update_elem(&pj_dsr_rev_nat, &k, &v, BPF_ANY);
}

static __always_inline int nodeport(struct __sk_buff *skb, const struct pkt *p, const struct dsr_svc *svc)
{
	struct dsr_addr chosen;

	if (pick_backend(p, svc, &chosen))
		return TC_ACT_SHOT;
	__be32 be_addr = get_ip(chosen.addr);
	__be16 be_port = bpf_htons(chosen.port);
	__u32 dev = route_dev(skb, p, be_addr);
	if (dev == 0)
		return TC_ACT_SHOT;
	if (dev != skb->ifindex) {
		/* A backend on this node: DNAT, let the stack deliver it, and reverse-NAT the reply at egress. */
		remember_reply(p, be_addr, be_port, p->daddr, p->dport);
		return rewrite(skb, p, 1, be_addr, be_port) ? TC_ACT_SHOT : TC_ACT_OK;
	}
	if (p->ttl <= 1)
		return TC_ACT_SHOT;
	if (rewrite(skb, p, 1, be_addr, be_port))
		return TC_ACT_SHOT;
	/* The stack won't forward it, so the TTL is ours to decrement (TTL and protocol share a 16-bit word). */
	__u8 ttl = p->ttl - 1;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, bpf_htons(p->ttl << 8), bpf_htons(ttl << 8), 2) ||
	    bpf_skb_store_bytes(skb, IP_TTL_OFF, &ttl, 1, 0))
		return TC_ACT_SHOT;
	/* Only a plain 20-byte header takes the option (adjust_room inserts after 20 bytes); a client's own IP
	 * options are rare enough to leave that flow unserved, as its reply won't be reverse-NATed. A datagram
	 * the 8 bytes push over the MTU is dropped by the veth. */
	if ((p->syn || p->proto == IPPROTO_UDP) && p->ihl == 5 && insert_option(skb, p->daddr, p->dport))
		return TC_ACT_SHOT;
	return bpf_redirect_neigh(skb->ifindex, 0, 0, 0);
}

SEC("from-netdev")
int dsr_from_netdev(struct __sk_buff *skb)
{
	struct pkt p;

	if (parse(skb, &p))
		return TC_ACT_OK;
	struct dsr_svc_key sk = { .port = bpf_ntohs(p.dport), .proto = p.proto };
	struct dsr_svc *svc = bpf_map_lookup_elem(&pj_dsr_svc, &sk);
	if (svc && is_local(skb, &p))
		return nodeport(skb, &p, svc);
	/* Forwarded to us by an LB node: the option names the service the client asked for. */
	if (p.ihl == 7 && (bpf_ntohl(p.opt0) >> 16) == (DSR_IPV4_OPT_32 >> 16))
		remember_reply(&p, p.daddr, p.dport, bpf_ntohl(p.opt1), bpf_ntohl(p.opt0) & 0xffff);
	return TC_ACT_OK;
}

SEC("to-netdev")
int dsr_to_netdev(struct __sk_buff *skb)
{
	struct pkt p;

	if (parse(skb, &p))
		return TC_ACT_OK;
	/* A reply travels backend -> client: look it up as the client -> backend flow it answers. */
	struct dsr_flow k;
	flow_key(&k, p.daddr, p.saddr, p.dport, p.sport, p.proto);
	struct dsr_addr *svc = bpf_map_lookup_elem(&pj_dsr_rev_nat, &k);
	if (!svc)
		return TC_ACT_OK;
	return rewrite(skb, &p, 0, get_ip(svc->addr), bpf_htons(svc->port)) ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
