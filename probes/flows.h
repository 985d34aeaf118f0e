/* The all-traffic flow view (issue 14 §3): every packet is counted in the kernel, once per (flow, netns),
 * in per-CPU hash maps the loader merges and empties at a fixed tick (flows-loader.h). A few packets per
 * flow are marked in skb_states with the flow view's filter slot, so the rest of the probe traces their
 * whole journey. Included by journey.bpf.c (the BPF part) and by the loader (the shared structs).
 *
 * Where a packet is counted, so that each one is counted once per namespace it crosses:
 *   - netif_receive_skb, ingress: every arrival in a namespace (a veth's netif_rx is followed by this one,
 *     so netif_rx is not counted), except on a bridge master (its port counted the frame before passing
 *     it up) and on loopback (its packets were counted leaving);
 *   - net_dev_queue, egress: only packets made in this namespace (skb_iif is 0: nothing received them
 *     here), and not on a bridge port (the bridge master counted the packet one step before).
 * Other devices the packet crosses in the namespace (the egress of a forwarded packet, a bridge master)
 * are added to its flow's device list without counting it again. GRO and GSO merge wire packets into one
 * skb: packets are gso_segs, and bytes are what the wire carried (every segment's IP and L4 headers). */
#ifndef PJ_FLOWS_H
#define PJ_FLOWS_H

#define PJ_FLOW_DEVS 4
#define PJ_FLOW_DROPS 4

/* One direction of a flow in one namespace. Addresses are 16 bytes: IPv6, or IPv4 mapped (::ffff:a.b.c.d). */
struct pj_flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 netns;  /* inode */
	__u16 sport;  /* host order; ICMP: the echo id (0 for other types) */
	__u16 dport;  /* host order; ICMP: type << 8 | code */
	__u8 proto;   /* IPPROTO_* (ICMPv6 for v6) */
	__u8 pad[3];
};

/* A flow's counts on one CPU since the loader last emptied the map. */
struct pj_flow_val {
	__u64 packets;        /* wire packets (gso_segs per skb) */
	__u64 bytes;          /* IP bytes on the wire, headers of every segment included */
	__u64 payload;        /* L4 payload bytes (what iperf3 counts) */
	__u64 first_ns, last_ns; /* bpf_ktime_get_ns */
	__u32 ifindex[PJ_FLOW_DEVS];        /* devices crossed in this namespace, first seen first */
	__u32 drop_reason[PJ_FLOW_DROPS];   /* enum skb_drop_reason, with drop_count */
	__u32 drop_count[PJ_FLOW_DROPS];
	__u32 drops_other;    /* drops of a fifth reason or more */
	__u32 sampled;        /* packets of this flow marked for a full journey (first netns only) */
	__u64 sample_ns;      /* when this CPU last asked flow_samples (not read by the loader) */
};

/* Per-CPU counters of the flow view (a PERCPU_ARRAY of one): nothing is lost without being counted here. */
struct pj_flow_counters {
	__u64 insert_failed;  /* a new flow found the map full: its packets are in lost_* instead */
	__u64 lost_packets;
	__u64 lost_bytes;
	__u64 lost_drops;
	__u64 sampled;        /* skbs marked for a full journey */
	__u64 counted;        /* skbs counted */
};

#ifdef __bpf__

#define PJ_ETH_P_IPV6 0x86DD
#define PJ_FLOW_ENTRIES 32768

/* Written by the loader through .bss. flows_on gates everything: one load per hook while the view is off. */
volatile __u32 flows_on;
/* Set before load: false leaves the flow view's code out (the verifier prunes it and never checks it). */
const volatile bool with_flows = true;
/* Which of flows0/flows1 the probe writes: the loader flips it, waits a grace, then reads the other. */
volatile __u32 flows_gen;
/* The filter slot bit sampled skbs are marked with (0: no sampling), and journeys per flow per second
 * after its first packet. */
volatile __u32 flows_sample_bit;
volatile __u32 flows_sample_n;
/* ns between two look-ups of a flow's sampling state by one CPU (the loader sets 1 s / n). */
volatile __u64 flows_sample_gap;

/* Not LRU: a flow is never evicted in silence; when the map is full, the insert fails and is counted. The
 * loader sizes both maps before load (--flow-entries). */
#define PJ_FLOW_MAP(name)                                                                                    \
	struct {                                                                                             \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH);                                                      \
		__uint(max_entries, PJ_FLOW_ENTRIES);                                                        \
		__type(key, struct pj_flow_key);                                                             \
		__type(value, struct pj_flow_val);                                                           \
	} name SEC(".maps")
PJ_FLOW_MAP(flows0);
PJ_FLOW_MAP(flows1);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pj_flow_counters);
} flow_counters SEC(".maps");

/* Sampling state per flow (key without netns: a packet is sampled once for its whole journey). LRU is
 * fine here: a flow evicted is only sampled again as if new; counts never live in this map. */
struct flow_sample {
	__u64 window_ns;
	__u32 n;
	/* Where the flow's first packet asked: a sample starts only there, so a journey is whole. Other
	 * namespaces ask too, on other packets (their per-CPU look-ups run on their own clocks, and a packet's
	 * hops can run on two CPUs), and those packets are not marked upstream. 0: the key is a flow seen
	 * first already marked (its packets were NATed on the way), where no sample starts. */
	__u32 origin;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PJ_FLOW_ENTRIES);
	__type(key, struct pj_flow_key);
	__type(value, struct flow_sample);
} flow_samples SEC(".maps");

/* What the counting needs of a packet's headers. */
struct flow_pkt {
	__u32 hdr;      /* IP + L4 header bytes of one segment */
	__u32 l3_len;   /* bytes from the IP header to the end of the skb */
	__u32 tot_len;  /* the IP header's length (one packet, or the merged skb) */
};

static __always_inline void v4_mapped(__u8 *a, __u32 v4)
{
	__builtin_memset(a, 0, 10);
	a[10] = 0xff;
	a[11] = 0xff;
	__builtin_memcpy(a + 12, &v4, 4);
}

/* Fills the key (not netns) and sizes from the headers; false when not IP. */
static __always_inline bool flow_parse(struct sk_buff *skb, bool l3_at_data, struct pj_flow_key *k,
				       struct flow_pkt *p)
{
	unsigned char *l3;
	__u16 eproto = skb->protocol;
	if (eproto != bpf_htons(ETH_P_IP) && eproto != bpf_htons(PJ_ETH_P_IPV6))
		return false;
	if (l3_at_data) {
		l3 = skb->data;
	} else {
		__u16 nh = skb->network_header;
		if (nh == (__u16)~0U)
			return false;
		l3 = skb->head + nh;
	}
	__u32 before = l3 - skb->data;
	p->l3_len = skb->len > before ? skb->len - before : 0;

	/* The IPv6 header (40 bytes), or the IPv4 one with its L4 header when it has no options, in one read
	 * (h + 20 is then the L4 header: a helper call saved on every packet). */
	__u8 h[40];
	__u32 l4off;
	__u8 proto;
	__u8 l4[20];
	bool have_l4 = false;
	if (eproto == bpf_htons(ETH_P_IP)) {
		if (bpf_probe_read_kernel(h, 40, l3))
			return false;
		struct iphdr *ip = (struct iphdr *)h;
		if (ip->version != 4)
			return false;
		v4_mapped(k->saddr, ip->saddr);
		v4_mapped(k->daddr, ip->daddr);
		proto = ip->protocol;
		l4off = ip->ihl * 4;
		p->tot_len = bpf_ntohs(ip->tot_len);
		if (ip->ihl == 5) {
			__builtin_memcpy(l4, h + 20, sizeof(l4));
			have_l4 = true;
		}
		if (bpf_ntohs(ip->frag_off) & 0x1fff) {
			/* A later fragment has no L4 header: counted under the addresses alone. */
			k->proto = proto;
			p->hdr = l4off;
			return true;
		}
	} else {
		/* IPv6 with L4 right after the fixed header; extension headers leave ports at 0. */
		if (bpf_probe_read_kernel(h, 40, l3))
			return false;
		if ((h[0] >> 4) != 6)
			return false;
		__builtin_memcpy(k->saddr, h + 8, 16);
		__builtin_memcpy(k->daddr, h + 24, 16);
		proto = h[6];
		l4off = 40;
		p->tot_len = 40 + ((h[4] << 8) | h[5]);
	}
	k->proto = proto;
	__u32 l4len = 0;
	if (!have_l4 && l4off >= 20 && l4off <= 60 && bpf_probe_read_kernel(l4, sizeof(l4), l3 + l4off) == 0)
		have_l4 = true;
	if (have_l4) {
		if (proto == IPPROTO_TCP) {
			k->sport = (l4[0] << 8) | l4[1];
			k->dport = (l4[2] << 8) | l4[3];
			l4len = (l4[12] >> 4) * 4;
		} else if (proto == IPPROTO_UDP) {
			k->sport = (l4[0] << 8) | l4[1];
			k->dport = (l4[2] << 8) | l4[3];
			l4len = 8;
		} else if (proto == IPPROTO_ICMP || proto == 58 /* ICMPv6 */) {
			__u8 echo_req = proto == IPPROTO_ICMP ? 8 : 128, echo_rep = proto == IPPROTO_ICMP ? 0 : 129;
			k->dport = (l4[0] << 8) | l4[1];
			if (l4[0] == echo_req || l4[0] == echo_rep)
				k->sport = (l4[4] << 8) | l4[5];
			l4len = 8;
		}
	}
	p->hdr = l4off + l4len;
	return true;
}

/* Wire packets and bytes of one skb: a GSO or GRO skb stands for gso_segs packets, each with its headers. */
static __always_inline void flow_size(struct sk_buff *skb, const struct flow_pkt *p, __u64 *packets,
				      __u64 *bytes, __u64 *payload)
{
	__u32 len = p->l3_len;
	struct {
		__u16 gso_size, gso_segs;
	} g = {};
	/* skb_shinfo(): at head + end (an offset on 64-bit kernels). */
	if (skb->data_len)
		bpf_probe_read_kernel(&g, sizeof(g), skb->head + skb->end + offsetof(struct skb_shared_info, gso_size));
	if (g.gso_size) {
		__u64 pl = len > p->hdr ? len - p->hdr : 0;
		__u64 segs = g.gso_segs ? g.gso_segs : (pl + g.gso_size - 1) / g.gso_size;
		if (!segs)
			segs = 1;
		*packets = segs;
		*payload = pl;
		*bytes = pl + segs * p->hdr;
		return;
	}
	/* One packet: the IP length, not the skb's (a short frame's Ethernet padding is not the packet's). */
	__u32 l = p->tot_len && p->tot_len <= len ? p->tot_len : len;
	*packets = 1;
	*bytes = l;
	*payload = l > p->hdr ? l - p->hdr : 0;
}

static __always_inline void flow_add_dev(struct pj_flow_val *v, __u32 ifindex)
{
	if (!ifindex)
		return;
	for (int i = 0; i < PJ_FLOW_DEVS; i++) {
		if (v->ifindex[i] == ifindex)
			return;
		if (!v->ifindex[i]) {
			v->ifindex[i] = ifindex;
			return;
		}
	}
}

static __always_inline void flow_add_drop(struct pj_flow_val *v, __u32 reason)
{
	for (int i = 0; i < PJ_FLOW_DROPS; i++) {
		if (v->drop_count[i] && v->drop_reason[i] == reason) {
			v->drop_count[i]++;
			return;
		}
		if (!v->drop_count[i]) {
			v->drop_reason[i] = reason;
			v->drop_count[i] = 1;
			return;
		}
	}
	v->drops_other++;
}

/* Marks the skb for a full journey: the first packet of a flow, then at most flows_sample_n a second.
 * The per-flow count is not atomic (that needs BPF atomics past -mcpu=v1): two CPUs sampling the same flow
 * in the same instant can pass the bound by one, and the server trims what it shows to the bound. */
static __always_inline bool flow_sample(struct sk_buff *skb, const struct pj_flow_key *k, __u64 now,
					bool l3_at_data)
{
	__u32 bit = flows_sample_bit;
	if (!bit)
		return false;
	struct pj_flow_key sk = *k;
	sk.netns = 0;
	struct flow_sample *s = bpf_map_lookup_elem(&flow_samples, &sk);
	if (s && s->origin != k->netns)
		return false;
	/* The common case under load first: this second's samples are taken, one look-up and out. */
	if (s && now - s->window_ns < 1000000000ull && s->n >= flows_sample_n)
		return false;
	__u64 skbk = (__u64)skb;
	/* Through the identity check: a state another packet left at this address (a free no tracepoint
	 * saw, pcapf.h) is not "marked upstream", and is deleted. */
	struct net_device *dev = skb->dev;
	struct skb_state *st = state_of(&skbk, skb, dev, l3_at_data);
	bool upstream = st && (st->mask & bit); /* marked in an earlier namespace */
	if (!s) {
		struct flow_sample fresh = { .window_ns = now, .origin = upstream ? 0 : k->netns };
		if (bpf_map_update_elem(&flow_samples, &sk, &fresh, BPF_NOEXIST) || upstream)
			return false;
	} else if (upstream) {
		return false;
	} else {
		if (now - s->window_ns >= 1000000000ull) {
			s->window_ns = now;
			s->n = 0;
		}
		if (s->n >= flows_sample_n)
			return false;
		s->n++;
	}
	if (st) {
		/* As handle() does when a mask gains a slot: its stale bits go, and the rest is fresh from now. */
		st->mask = fresh_mask(st, active_mask) | bit;
		st->since = now;
	} else {
		struct skb_state ns = { .mask = bit, .since = now, .ident = skb_ident(skb, dev, l3_at_data) };
		if (bpf_map_update_elem(&skb_states, &skbk, &ns, BPF_ANY))
			return false;
	}
	/* handle() skips the skb_states look-up when nothing was tracked lately. */
	last_track = bpf_jiffies64();
	return true;
}

static __always_inline struct pj_flow_val *flow_entry(void *map, const struct pj_flow_key *k, bool create,
						     struct pj_flow_counters *c)
{
	struct pj_flow_val *v = bpf_map_lookup_elem(map, k);
	if (v || !create)
		return v;
	struct pj_flow_val zero = {};
	/* EEXIST: another CPU inserted it meanwhile; the look-up then finds this CPU's (zeroed) value. */
	long err = bpf_map_update_elem(map, k, &zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, k);
	if (!v && c && err)
		c->insert_failed++;
	return v;
}

enum flow_op { FLOW_COUNT, FLOW_DEV, FLOW_DROP };

static __always_inline void flow_apply(void *map, struct sk_buff *skb, struct pj_flow_key *k,
				       const struct flow_pkt *p, enum flow_op op, __u32 ifindex, __u32 reason,
				       bool l3_at_data)
{
	__u32 zero = 0;
	struct pj_flow_counters *c = bpf_map_lookup_elem(&flow_counters, &zero);
	struct pj_flow_val *v = flow_entry(map, k, op != FLOW_DEV, c);
	__u64 packets = 0, bytes = 0, payload = 0;
	if (op == FLOW_COUNT)
		flow_size(skb, p, &packets, &bytes, &payload);
	if (!v) {
		if (c && op == FLOW_COUNT) {
			c->lost_packets += packets;
			c->lost_bytes += bytes;
		} else if (c && op == FLOW_DROP) {
			c->lost_drops++;
		}
		return;
	}
	__u64 now = bpf_ktime_get_ns();
	if (!v->first_ns)
		v->first_ns = now;
	v->last_ns = now;
	flow_add_dev(v, ifindex);
	if (op == FLOW_DROP) {
		flow_add_drop(v, reason);
		return;
	}
	if (op != FLOW_COUNT)
		return;
	v->packets += packets;
	v->bytes += bytes;
	v->payload += payload;
	if (c)
		c->counted++;
	/* flow_samples (a shared map) decides; each CPU asks it about a flow at most flows_sample_gap apart,
	 * so between samples a packet pays no look-up. A fresh value (a new flow, or a new tick) asks at once. */
	if (!flows_sample_bit || now - v->sample_ns < flows_sample_gap)
		return;
	v->sample_ns = now;
	if (flow_sample(skb, k, now, l3_at_data)) {
		v->sampled++;
		if (c)
			c->sampled++;
	}
}

/* The flow view's hook: dir is the tracepoint's (PJ_DIR_EGRESS for net_dev_queue, PJ_DIR_INGRESS for
 * netif_receive_skb, PJ_DIR_NONE for kfree_skb with its reason). Global, with the skb as a trusted
 * argument (kernel >= 6.8): verified once per program on its own instead of inlined with each hook's
 * state, which took the loader's attach from 1058 to 846 ms (medians of 7 alternating loads). */
__noinline int flows_account(struct sk_buff *skb __attribute__((btf_decl_tag("arg:trusted"))), __u8 dir,
			     __u32 reason)
{
	if (!skb)
		return 0;
	struct net_device *dev = skb->dev;
	enum flow_op op = FLOW_COUNT;
	if (dir == PJ_DIR_NONE) {
		op = FLOW_DROP;
	} else if (!dev) {
		return 0;
	} else {
		__u64 priv = dev->priv_flags;
		if (dir == PJ_DIR_INGRESS) {
			if ((priv & IFF_EBRIDGE) || (dev->flags & IFF_LOOPBACK))
				op = FLOW_DEV;
		} else if (skb->skb_iif || (priv & IFF_BRIDGE_PORT)) {
			op = FLOW_DEV;
		}
	}
	struct pj_flow_key k = {};
	struct flow_pkt p = {};
	if (!flow_parse(skb, dir == PJ_DIR_INGRESS, &k, &p))
		return 0;
	k.netns = netns_of(skb, dev, NULL);
	__u32 ifindex = dev ? dev->ifindex : 0;
	if (flows_gen)
		flow_apply(&flows1, skb, &k, &p, op, ifindex, reason, dir == PJ_DIR_INGRESS);
	else
		flow_apply(&flows0, skb, &k, &p, op, ifindex, reason, dir == PJ_DIR_INGRESS);
	return 0;
}

#endif /* __bpf__ */
#endif
