/* SPDX-License-Identifier: GPL-2.0 */
/* Included once, from journey.bpf.c (after its globals, skb_state and skb_states): the pcap-filter side
 * of the probe, its interpreter and prefilter (below), and first an identity for a tracked skb's state, so a state left behind by a free that no
 * tracepoint sees is not inherited by the next skb at the same address.
 *
 * Why: skb_states is keyed by the skb's address and an entry is deleted at kfree_skb/consume_skb. TCP
 * frees most of its skbs elsewhere (a pure ACK in tcp_rcv_established, eaten data in tcp_eat_recv_skb:
 * __kfree_skb, skb_attempt_defer_free, the napi skb cache), and the slab gives the address to the next
 * skb on that CPU, often within microseconds, so a packet of another flow took the old packet's slots. */
#ifndef PJ_PCAPF_H
#define PJ_PCAPF_H

/* An skb's identity: what no hop of one packet's journey changes (NAT rewrites addresses, ports,
 * checksums and an ICMP echo id; forwarding the TTL; a DSR option the IP header's length), from its IP
 * header: bit 63 set when it has one, bit 62 when its L4 header was read, the protocol (55..48), the IP
 * id (47..32), and a word of the L4 header (31..0): TCP's sequence number, UDP's length, ICMP's type,
 * code and sequence. 0: not an IPv4 packet here (unknown, never mismatched). */
#define PJ_ID_IP (1ULL << 63)
#define PJ_ID_L4 (1ULL << 62)

static __always_inline __u64 skb_ident(struct sk_buff *skb, struct net_device *dev, bool l3_at_data)
{
	unsigned char *head = skb->head, *l3;
	__u16 mac = skb->mac_header, nh = skb->network_header;
	__be16 proto = skb->protocol;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		if (mac == (__u16)~0U)
			return 0;
		l3 = head + mac + 18; /* the tag is in the frame (parse() checks the inner EtherType) */
	} else if (proto != bpf_htons(ETH_P_IP)) {
		return 0;
	} else if (l3_at_data) {
		l3 = skb->data;
	} else if (nh == (__u16)~0U) {
		return 0;
	} else if (nh == mac && dev && dev->type == ARPHRD_ETHER) {
		l3 = head + mac + 14; /* a frame a packet socket wrote whole: its network header is the frame's start */
	} else {
		l3 = head + nh;
	}
	struct {
		struct iphdr ip;
		__u8 l4[8];
	} h;
	if (bpf_probe_read_kernel(&h, sizeof(h), l3) || h.ip.version != 4)
		return 0;
	__u64 id = PJ_ID_IP | ((__u64)bpf_ntohs(h.ip.id) << 32) | ((__u64)h.ip.protocol << 48);
	if (bpf_ntohs(h.ip.frag_off) & 0x1fff)
		return id; /* not the first fragment: no L4 header */
	if (h.ip.ihl != 5 && bpf_probe_read_kernel(h.l4, sizeof(h.l4), l3 + h.ip.ihl * 4))
		return id;
	const __u8 *t = h.l4;
	__u32 w;
	if (h.ip.protocol == IPPROTO_TCP)
		w = ((__u32)t[4] << 24) | ((__u32)t[5] << 16) | ((__u32)t[6] << 8) | t[7];
	else if (h.ip.protocol == IPPROTO_UDP)
		w = ((__u32)t[4] << 8) | t[5];
	else if (h.ip.protocol == IPPROTO_ICMP)
		w = ((__u32)t[0] << 24) | ((__u32)t[1] << 16) | ((__u32)t[6] << 8) | t[7];
	else
		return id;
	return id | PJ_ID_L4 | w;
}

/* Whether two identities can be one packet's: unknown on either side agrees; a missing L4 header (a
 * fragment, then the packet reassembled from it at that address) compares the IP header's part only. */
static __always_inline bool ident_same(__u64 a, __u64 b)
{
	if (!(a & PJ_ID_IP) || !(b & PJ_ID_IP))
		return true;
	if ((a ^ b) & 0x00ffffff00000000ULL)
		return false;
	return !(a & b & PJ_ID_L4) || (__u32)a == (__u32)b;
}

/* The tracked state of this skb, or NULL; a state another packet left at this address is deleted. */
static __always_inline struct skb_state *state_of(__u64 *key, struct sk_buff *skb, struct net_device *dev,
						  bool l3_at_data)
{
	struct skb_state *st = bpf_map_lookup_elem(&skb_states, key);
	if (st && !ident_same(st->ident, skb_ident(skb, dev, l3_at_data))) {
		bpf_map_delete_elem(&skb_states, key);
		return NULL;
	}
	return st;
}

/* The interpreter: cBPF programs per slot, run on a copy of the packet's first bytes. */

/* The interpreter's state while it runs the slots in `todo` one after another, over one bpf_loop (a
 * step is one instruction, or skipping a slot that is not to run): per CPU, in a map value rather than
 * on the stack, since the verifier checks a bpf_loop callback until its state repeats, and the values
 * held in a map are unknown to it, so every step looks alike and the callback is verified once. */
struct scratch {
	/* Twice PJ_SNAP: the read's length is bounded for the verifier by a mask (it is <= PJ_SNAP anyway) */
	__u8 pkt[2 * PJ_SNAP];
	__u32 mem[16];         /* cBPF's M[] */
	__u64 src;             /* where the bytes come from */
	__u32 avail;           /* bytes there may be copied (<= PJ_SNAP) */
	__u32 caplen;          /* bytes in pkt so far: a first short read, the rest when a load needs it */
	__u32 wirelen;         /* the packet's length from where the program starts */
	__u32 kind;            /* PJ_PROG_L2 or PJ_PROG_L3 */
	__u32 todo;
	__u32 nslots;
	__u32 slot;
	__u32 pc; /* 0: the slot has not started (jumps only go forward, so no later instruction is 0) */
	__u32 A;
	__u32 X;
	__u32 m;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratches SEC(".maps");

/* cBPF opcodes (linux/filter.h): class, size, mode, ALU op, jump op and source. */
#define C_LD 0x00
#define C_LDX 0x01
#define C_ST 0x02
#define C_STX 0x03
#define C_ALU 0x04
#define C_JMP 0x05
#define C_RET 0x06
#define C_MISC 0x07

/* Ends the running slot: matched when it returned nonzero. */
static __always_inline bool slot_done(struct scratch *c, bool matched)
{
	if (matched)
		c->m |= 1U << (c->slot & 31);
	c->slot++;
	c->pc = 0;
	return false;
}

/* A load of `size` bytes at `off`, big-endian; false when past the captured bytes (the packet is then
 * rejected, as cBPF does). */
static __always_inline bool load(struct scratch *c, __u64 off, __u32 size, __u32 *out)
{
	if (off + size > c->caplen) {
		if (off + size > c->avail)
			return false;
		__u64 len = c->avail;
		asm volatile("%0 &= 0x1ff" : "+r"(len));
		if (bpf_probe_read_kernel(c->pkt, len, (const void *)c->src))
			return false;
		c->caplen = c->avail;
	}
	__u64 o = off;
	asm volatile("%0 &= 255" : "+r"(o)); /* < PJ_SNAP already; the mask is for the verifier */
	const __u8 *p = &c->pkt[o];
	if (size == 4)
		*out = ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
	else if (size == 2)
		*out = ((__u32)p[0] << 8) | p[1];
	else
		*out = p[0];
	return true;
}

static __always_inline __u32 size_of(__u16 code)
{
	__u16 sz = code & 0x18;
	return sz == 0x00 ? 4 : sz == 0x08 ? 2 : 1;
}

/* Runs the instruction at pc; false once the slot is done. Global, so verified once on its own rather
 * than with each state of the bpf_loop callback that calls it. */
__noinline bool pj_exec(struct scratch *c)
{
	if (!c)
		return false;
	__u64 sl = c->slot, kind = c->kind;
	asm volatile("%0 &= 15" : "+r"(sl));
	asm volatile("%0 &= 1" : "+r"(kind));
	const struct pj_prog *prog = &progs[sl][kind];
	__u32 pc = c->pc;
	if (pc >= prog->len || pc >= PJ_MAX_INSNS)
		return slot_done(c, false); /* ran off the end (or an empty program): no match */
	__u64 ip = pc;
	asm volatile("%0 &= 511" : "+r"(ip));
	const struct pj_insn in = prog->insns[ip];
	__u32 k = in.k, A = c->A, X = c->X, v;
	__u16 code = in.code;
	c->pc = pc + 1;

	switch (code & 0x07) {
	case C_RET:
		/* BPF_K or BPF_A: the snapshot length to keep; zero rejects */
		return slot_done(c, ((code & 0x18) == 0x10 ? A : k) != 0);
	case C_JMP: {
		__u16 op = code & 0xf0;
		if (op == 0x00) { /* ja */
			c->pc = pc + 1 + k;
			return true;
		}
		__u32 src = (code & 0x08) ? X : k;
		bool t;
		if (op == 0x10)
			t = A == src;
		else if (op == 0x20)
			t = A > src;
		else if (op == 0x30)
			t = A >= src;
		else if (op == 0x40)
			t = (A & src) != 0;
		else
			return slot_done(c, false);
		c->pc = pc + 1 + (t ? in.jt : in.jf);
		return true;
	}
	case C_LD:
	case C_LDX: {
		__u16 mode = code & 0xe0;
		bool to_x = (code & 0x07) == C_LDX;
		if (mode == 0x00) /* imm */
			v = k;
		else if (mode == 0x80) /* len */
			v = c->wirelen;
		else if (mode == 0x60) /* mem */
			v = c->mem[k & 15];
		else if (mode == 0x20 && !to_x) { /* abs */
			if (!load(c, k, size_of(code), &v))
				return slot_done(c, false);
		} else if (mode == 0x40 && !to_x) { /* ind */
			if (!load(c, (__u64)X + k, size_of(code), &v))
				return slot_done(c, false);
		} else if (mode == 0xa0 && to_x) { /* msh: 4 * (P[k] & 0xf), the IP header length */
			if (!load(c, k, 1, &v))
				return slot_done(c, false);
			v = (v & 0xf) << 2;
		} else
			return slot_done(c, false);
		if (to_x)
			c->X = v;
		else
			c->A = v;
		return true;
	}
	case C_ST:
		c->mem[k & 15] = A;
		return true;
	case C_STX:
		c->mem[k & 15] = X;
		return true;
	case C_ALU: {
		__u32 src = (code & 0x08) ? X : k;
		switch (code & 0xf0) {
		case 0x00: A += src; break;
		case 0x10: A -= src; break;
		case 0x20: A *= src; break;
		case 0x30:
			if (!src)
				return slot_done(c, false);
			A /= src;
			break;
		case 0x90:
			if (!src)
				return slot_done(c, false);
			A %= src;
			break;
		case 0x40: A |= src; break;
		case 0x50: A &= src; break;
		case 0xa0: A ^= src; break;
		case 0x60: A = src < 32 ? A << src : 0; break;
		case 0x70: A = src < 32 ? A >> src : 0; break;
		case 0x80: A = -A; break;
		default: return slot_done(c, false);
		}
		c->A = A;
		return true;
	}
	default: /* misc: tax, txa */
		if ((code & 0xf8) == 0x00)
			c->X = A;
		else if ((code & 0xf8) == 0x80)
			c->A = X;
		else
			return slot_done(c, false);
		return true;
	}
}

/* One bpf_loop step: a few instructions of the running slot (each step costs a call), or starting it. */
static long step(__u32 i, void *data)
{
	struct scratch *c = *(struct scratch **)data;
	if (c->slot >= c->nslots || c->slot >= PJ_MAX_FILTERS)
		return 1;
	if (c->pc == 0) {
		if (!(c->todo & (1U << c->slot))) {
			c->slot++;
			return 0;
		}
		c->A = 0;
		c->X = 0;
	}
	for (int u = 0; u < 4; u++)
		if (!pj_exec(c))
			break;
	return 0;
}

/* Copies the first bytes of the packet for the programs: from the MAC header when it is set (the L2
 * program), else from the IP header (the L3 one). A VLAN tag the driver keeps beside the packet
 * (skb->vlan_all) is put back in front of the EtherType, as libpcap shows it to tcpdump. */
static __always_inline bool snapshot(struct sk_buff *skb, struct net_device *dev, struct scratch *c, bool l3_at_data,
					   __u32 want)
{
	unsigned char *head = skb->head, *data = skb->data, *start;
	__u16 mac = skb->mac_header, nh = skb->network_header;
	unsigned char *l3 = l3_at_data ? data : nh == (__u16)~0U ? NULL : head + nh;
	/* A MAC header before the IP header; or where the IP header should be, on an Ethernet device: a frame
	 * written whole by a packet socket, whose network header the kernel puts at the frame's start. */
	if (mac != (__u16)~0U && (!l3 || head + mac + 14 <= l3 || (head + mac == l3 && dev && dev->type == ARPHRD_ETHER))) {
		start = head + mac;
		c->kind = PJ_PROG_L2;
	} else if (l3) {
		start = l3;
		c->kind = PJ_PROG_L3;
	} else {
		return false;
	}
	long before = data - start; /* the headers already pulled (ingress), or negative */
	long wire = (long)skb->len + before;
	long linear = (long)(head + skb->tail - start);
	if (wire <= 0 || linear <= 0)
		return false;
	__u32 vlan = c->kind == PJ_PROG_L2 ? skb->vlan_all : 0;
	__u32 n = want < linear ? want : linear;
	c->wirelen = wire;
	if (!vlan) {
		if (n > PJ_SNAP)
			n = PJ_SNAP;
		/* Most filters decide on the first bytes: the rest is copied only if a load goes past them. */
		c->src = (__u64)start;
		c->avail = n;
		if (n > PJ_SNAP_FIRST)
			n = PJ_SNAP_FIRST;
		__u64 len = n;
		asm volatile("%0 &= 0x1ff" : "+r"(len));
		if (len && bpf_probe_read_kernel(c->pkt, len, start))
			return false;
		c->caplen = n;
		return true;
	}
	if (n < 12)
		return false;
	if (n > PJ_SNAP - 4)
		n = PJ_SNAP - 4;
	__u64 rest = n - 12;
	asm volatile("%0 &= 0xff" : "+r"(rest));
	if (bpf_probe_read_kernel(c->pkt, 12, start) || (rest && bpf_probe_read_kernel(c->pkt + 16, rest, start + 12)))
		return false;
	__u16 proto = skb->vlan_proto, tci = bpf_htons(skb->vlan_tci);
	__builtin_memcpy(c->pkt + 12, &proto, 2);
	__builtin_memcpy(c->pkt + 14, &tci, 2);
	c->caplen = n + 4;
	c->avail = n + 4;
	c->wirelen = wire + 4;
	return true;
}

/* Whether the bytes p[0..caplen) (from where the programs start, of `kind`) may match the slot's filter f:
 * false only when its IPv4 header, at the fixed offset the slot's programs read it from (14 after an
 * Ethernet header whose EtherType is IPv4, 0 for an IP header of version 4), fails the slot's prefilter;
 * any other packet, or bytes not copied, go on to the programs. `room` (a constant) bounds every index
 * for the verifier: a header past it is treated as not copied. */
static __always_inline bool pre_on(const struct pj_filter *f, const __u8 *p, __u32 caplen, __u32 kind, __u32 room)
{
	if (!f->pre)
		return true;
	__u32 ip;
	if (kind == PJ_PROG_L2) {
		if (p[12] != 0x08 || p[13] != 0x00)
			return true;
		ip = 14;
	} else {
		if ((p[0] & 0xf0) != 0x40)
			return true;
		ip = 0;
	}
	if (caplen < ip + 20)
		return true;
	if (f->no_ipv4)
		return false;
	if (f->proto && p[ip + 9] != f->proto)
		return false;
	__u32 s, d;
	__builtin_memcpy(&s, p + ip + 12, 4);
	__builtin_memcpy(&d, p + ip + 16, 4);
	if ((f->addr_a && f->addr_a != s && f->addr_a != d) || (f->addr_b && f->addr_b != s && f->addr_b != d))
		return false;
	if (!f->port && !f->icmp_id)
		return true;
	__u64 l4 = ip + ((p[ip] & 0xf) << 2);
	if (l4 + 6 > caplen || l4 + 6 > room)
		return true;
	asm volatile("%0 &= 127" : "+r"(l4)); /* <= 14 + 60 already; the mask is for the verifier */
	if (l4 + 6 > room)
		return true;
	__u16 sp = ((__u16)p[l4] << 8) | p[l4 + 1], dp = ((__u16)p[l4 + 2] << 8) | p[l4 + 3];
	__u16 id = ((__u16)p[l4 + 4] << 8) | p[l4 + 5];
	if (f->port && f->port != sp && f->port != dp)
		return false;
	return !f->icmp_id || f->icmp_id == id;
}

/* pre_on() for the packet copied in c. Global, like pj_run: checked once, not once per slot of the
 * caller's loop. */
__noinline bool pj_pre(const struct scratch *c, __u32 slot)
{
	if (!c)
		return true;
	return pre_on(&filters[slot & (PJ_MAX_FILTERS - 1)], c->pkt, c->caplen, c->kind, 128);
}

/* The slots in `todo` whose prefilter passes and whose program then accepts the packet copied in c.
 * Global (neither static nor inlined): the verifier checks it and its bpf_loop callback once per program,
 * on their own, instead of inlined at each hook's call with the caller's state (which doubled attach time). */
__noinline __u32 pj_run(struct scratch *c, __u32 todo)
{
	if (!c)
		return 0;
	for (__u32 i = 0; i < PJ_MAX_FILTERS; i++) {
		if (!(todo >> i))
			break;
		if ((todo & (1U << i)) && !pj_pre(c, i))
			todo &= ~(1U << i);
	}
	if (!todo)
		return 0;
	__u32 n = nslots;
	if (n > PJ_MAX_FILTERS)
		n = PJ_MAX_FILTERS;
	c->todo = todo;
	c->nslots = n;
	c->slot = 0;
	c->pc = 0;
	c->m = 0;
	bpf_loop(n * (PJ_MAX_INSNS + 1), step, &c, 0);
	return c->m;
}

/* The fast reject: the headers the prefilter reads (an Ethernet and an IPv4 header and the L4 header's
 * first 8 bytes), from the start snapshot() would copy from, in one read onto the stack. Most packets a
 * live view sees are another flow's, and pj_pre turns them down on these bytes alone, so they leave
 * before the per-CPU scratch, snapshot()'s copy and the interpreter. */
#define PJ_QUICK 48
struct quick {
	__u8 p[PJ_QUICK];
	__u32 caplen; /* bytes in p, from where snapshot() would copy */
	__u32 kind;
};

/* Whether q's bytes may match `slot`: pj_pre's test on the packet's first bytes (a header past them
 * passes), so a slot turned down here is one whose programs accept no such packet. Global, verified once. */
__noinline bool pj_pre_quick(const struct quick *q, __u32 slot)
{
	if (!q)
		return true;
	return pre_on(&filters[slot & (PJ_MAX_FILTERS - 1)], q->p, q->caplen, q->kind, PJ_QUICK);
}

/* The slots in `todo` whose prefilter passes on q's bytes; global, its loop verified on its own. */
__noinline __u32 pj_quick(const struct quick *q, __u32 todo)
{
	for (__u32 i = 0; i < PJ_MAX_FILTERS; i++) {
		if (!(todo >> i))
			break;
		if ((todo & (1U << i)) && !pj_pre_quick(q, i))
			todo &= ~(1U << i);
	}
	return todo;
}

/* The slots in `todo` that may take this packet after the fast reject: `todo` itself whenever the
 * headers cannot be read here as snapshot() would copy them (a VLAN tag beside the packet, a failed
 * read), so the full path decides. */
static __always_inline __u32 quick_todo(struct sk_buff *skb, struct net_device *dev, bool l3_at_data, __u32 todo)
{
	unsigned char *head = skb->head, *data = skb->data, *start;
	__u16 mac = skb->mac_header, nh = skb->network_header;
	unsigned char *l3 = l3_at_data ? data : nh == (__u16)~0U ? NULL : head + nh;
	struct quick q = {};
	/* The same choice as snapshot()'s */
	if (mac != (__u16)~0U && (!l3 || head + mac + 14 <= l3 || (head + mac == l3 && dev && dev->type == ARPHRD_ETHER))) {
		start = head + mac;
		q.kind = PJ_PROG_L2;
		if (skb->vlan_all)
			return todo; /* snapshot() puts the tag in front of the EtherType */
	} else if (l3) {
		start = l3;
		q.kind = PJ_PROG_L3;
	} else {
		return 0; /* snapshot() fails: nothing matches */
	}
	long linear = (long)(head + skb->tail - start);
	if (linear <= 0 || (long)skb->len + (data - start) <= 0)
		return 0;
	/* Not bounded by the programs' snap length, as snapshot()'s copy is: the prefilter holds for the
	 * packet's real bytes on every path the programs accept, so an expression that loads only the
	 * EtherType ("ip6": no IPv4 packet matches) still turns IPv4 away here. */
	__u32 n = linear < PJ_QUICK ? linear : PJ_QUICK;
	__u64 len = n;
	asm volatile("%0 &= 63" : "+r"(len));
	if (!len || len > PJ_QUICK || bpf_probe_read_kernel(q.p, len, start))
		return todo;
	q.caplen = len;
	/* The usual case, one live view in slot 0, with one call */
	if (todo == 1)
		return pj_pre_quick(&q, 0) ? 1 : 0;
	return pj_quick(&q, todo);
}

/* The slots in `todo` that take this packet. */
static __always_inline __u32 match(struct sk_buff *skb, struct net_device *dev, bool l3_at_data, __u32 todo)
{
	todo = quick_todo(skb, dev, l3_at_data, todo);
	if (!todo)
		return 0;
	__u32 zero = 0;
	struct scratch *c = bpf_map_lookup_elem(&scratches, &zero);
	if (!c || !snapshot(skb, dev, c, l3_at_data, snap_len))
		return 0;
	return pj_run(c, todo);
}

#endif
