/* IPv6 half of journey.bpf.c's parse(): the fixed header, the extension headers up to the transport
 * (bounded), and Cilium's IPv6 DSR option in a Destination Options header. Included by journey.bpf.c
 * after vmlinux.h and event.h. */
#ifndef PJ_PARSE6_H
#define PJ_PARSE6_H

#define ETH_P_IPV6 0x86DD

/* IPv6 next-header values (linux/in6.h: #defines, so not in vmlinux.h's BTF). */
#define PJ_NH_HOPOPTS 0
#define PJ_NH_ROUTING 43
#define PJ_NH_FRAGMENT 44
#define PJ_NH_AUTH 51
#define PJ_NH_DSTOPTS 60
#define PJ_NH_ICMPV6 58

/* event.ext6: which extension headers the walk crossed, and what it found. */
#define PJ_EXT6_HOPOPTS 0x01
#define PJ_EXT6_ROUTING 0x02
#define PJ_EXT6_FRAGMENT 0x04 /* ip_id then holds the fragment id's low 16 bits */
#define PJ_EXT6_DSTOPTS 0x08
#define PJ_EXT6_DSR 0x10      /* dsr6 holds Cilium's option 0x1b */
#define PJ_EXT6_LATER_FRAG 0x20 /* not the first fragment: no transport header */
#define PJ_EXT6_TRUNCATED 0x40  /* more headers than the walk follows (PJ_EXT6_MAX): proto is the last next header seen */
#define PJ_EXT6_AUTH 0x80

/* Headers followed before giving up: a hop-by-hop, a destination options, a routing, a fragment, another
 * destination options and an AH header is already more than any real packet carries. */
#define PJ_EXT6_MAX 6
/* Options looked at inside one Destination Options header for the DSR one: Cilium writes it first, and
 * padding options may come before it. */
#define PJ_DSTOPT_MAX 4
/* Cilium's DSR option (bpf/lib/nodeport.h, struct dsr_opt_v6): type 0x1b, length 20: the service address
 * (16 bytes), its port (2), 2 bytes of padding, all in network order. */
#define PJ_DSR6_TYPE 0x1b
#define PJ_DSR6_MIN_LEN 18

static __always_inline bool is_ext6(__u8 nh)
{
	return nh == PJ_NH_HOPOPTS || nh == PJ_NH_ROUTING || nh == PJ_NH_FRAGMENT || nh == PJ_NH_DSTOPTS ||
	       nh == PJ_NH_AUTH;
}

/* Looks for the DSR option among the first options of the Destination Options header at l3 + off. */
__noinline int pj_dsr6_option(__u64 l3_addr, __u32 off, __u32 hlen, struct pj_event *e)
{
	const unsigned char *l3 = (const unsigned char *)l3_addr;
	__u32 p = 2;
	if (!e || off > 4096 || hlen > 2048)
		return 0;
	for (int i = 0; i < PJ_DSTOPT_MAX; i++) {
		__u8 t[2];
		if (p + 2 > hlen || bpf_probe_read_kernel(t, sizeof(t), l3 + off + p))
			return 0;
		if (t[0] == 0) { /* Pad1: a single byte */
			p += 1;
			continue;
		}
		if (t[0] == PJ_DSR6_TYPE && t[1] >= PJ_DSR6_MIN_LEN && p + 2 + PJ_DSR6_MIN_LEN <= hlen) {
			if (bpf_probe_read_kernel(e->dsr6, sizeof(e->dsr6), l3 + off + p + 2) == 0)
				e->ext6 |= PJ_EXT6_DSR;
			return 0;
		}
		p += 2 + t[1];
	}
	return 0;
}

/* Where the extension-header walk is: the next header's type and offset; stop once nothing follows. */
struct ext6_walk {
	__u32 off;
	__u8 nh;
	__u8 stop;
};

/* Crosses one extension header. A global function too, so the loop over headers costs the verifier one
 * call per iteration, not this body. Nonzero: stop walking. */
__noinline int pj_ext6_step(__u64 l3_addr, struct ext6_walk *w, struct pj_event *e)
{
	const unsigned char *l3 = (const unsigned char *)l3_addr;
	__u8 x[8];
	if (!w || !e || w->off > 8192 || bpf_probe_read_kernel(x, sizeof(x), l3 + w->off))
		return 1;
	__u8 nh = w->nh;
	__u32 hlen;
	if (nh == PJ_NH_FRAGMENT) {
		e->ext6 |= PJ_EXT6_FRAGMENT;
		e->ip_id = (x[6] << 8) | x[7];
		hlen = 8;
		if ((((x[2] << 8) | x[3]) >> 3) != 0) {
			e->ext6 |= PJ_EXT6_LATER_FRAG;
			e->proto = x[0];
			w->stop = 1; /* not the first fragment: no transport header */
			return 1;
		}
	} else if (nh == PJ_NH_AUTH) {
		e->ext6 |= PJ_EXT6_AUTH;
		hlen = ((__u32)x[1] + 2) * 4;
	} else {
		hlen = ((__u32)x[1] + 1) * 8;
		e->ext6 |= nh == PJ_NH_HOPOPTS ? PJ_EXT6_HOPOPTS : nh == PJ_NH_ROUTING ? PJ_EXT6_ROUTING : PJ_EXT6_DSTOPTS;
		if (nh == PJ_NH_DSTOPTS && !(e->ext6 & PJ_EXT6_DSR))
			pj_dsr6_option(l3_addr, w->off, hlen, e);
	}
	w->nh = x[0];
	w->off += hlen;
	return 0;
}

/* Fills the event from the IPv6 packet at l3 (as parse() does for IPv4). A global function: the
 * verifier checks it once per program, on its own, instead of walking its loops again for every path
 * through handle() it is inlined into (that took the loader's attach from under a second to ~8 s). */
__noinline int pj_parse6(__u64 l3_addr, struct pj_event *e)
{
	const unsigned char *l3 = (const unsigned char *)l3_addr;
	if (!e)
		return 0;
	/* One read for the fixed header and the 20 bytes after it (the transport header when there is no
	 * extension header, the common case). */
	struct {
		struct ipv6hdr ip;
		__u8 l4[20];
	} h;
	if (bpf_probe_read_kernel(&h, sizeof(h), l3)) {
		if (bpf_probe_read_kernel(&h.ip, sizeof(h.ip), l3))
			return 0;
	}
	if (h.ip.version != 6)
		return 0;
	e->has_ip = 1;
	e->family = 6;
	__builtin_memcpy(e->saddr6, &h.ip.saddr, 16);
	__builtin_memcpy(e->daddr6, &h.ip.daddr, 16);
	e->ttl = h.ip.hop_limit;
	e->flow_label = ((__u32)(h.ip.flow_lbl[0] & 0x0f) << 16) | ((__u32)h.ip.flow_lbl[1] << 8) | h.ip.flow_lbl[2];
	e->tot_len = bpf_ntohs(h.ip.payload_len) + sizeof(struct ipv6hdr);

	struct ext6_walk w = { .off = sizeof(struct ipv6hdr), .nh = h.ip.nexthdr };
	for (int i = 0; i < PJ_EXT6_MAX && is_ext6(w.nh); i++)
		if (pj_ext6_step(l3_addr, &w, e))
			break;
	if (w.stop)
		return 0;
	__u8 nh = w.nh;
	__u32 off = w.off;
	e->proto = nh;
	if (is_ext6(nh)) {
		e->ext6 |= PJ_EXT6_TRUNCATED;
		return 0;
	}
	if (off != sizeof(struct ipv6hdr) && bpf_probe_read_kernel(h.l4, sizeof(h.l4), l3 + off))
		return 0;

	const __u8 *th = h.l4;
	if (nh == IPPROTO_TCP) {
		e->sport = (th[0] << 8) | th[1];
		e->dport = (th[2] << 8) | th[3];
		e->tcp_flags = th[13];
	} else if (nh == IPPROTO_UDP) {
		e->sport = (th[0] << 8) | th[1];
		e->dport = (th[2] << 8) | th[3];
	} else if (nh == PJ_NH_ICMPV6) {
		e->icmp_type = th[0];
		e->icmp_code = th[1];
		e->icmp_id = (th[4] << 8) | th[5];
		e->icmp_seq = (th[6] << 8) | th[7];
	}
	return 0;
}

/* parse()'s entry for an IPv6 skb: where its header starts, as a number (the global function takes no
 * packet pointer: the address is read out of the skb instead, one helper call per IPv6 packet). */
static __always_inline void parse6(struct sk_buff *skb, struct pj_event *e, bool l3_at_data)
{
	__u64 a = 0;
	if (!l3_at_data && skb->network_header == (__u16)~0U)
		return;
	if (bpf_probe_read_kernel(&a, sizeof(a), l3_at_data ? (void *)&skb->data : (void *)&skb->head) || !a)
		return;
	if (!l3_at_data)
		a += skb->network_header;
	pj_parse6(a, e);
}

#endif
