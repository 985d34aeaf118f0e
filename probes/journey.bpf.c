// SPDX-License-Identifier: GPL-2.0
/* packet-journey probe: one event per hop of a filtered packet, from tracepoints (tp_btf, which work
 * on kernels without kprobes/fentry) and netfilter BPF links around nat and filter. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "event.h"
#include "parse6.h"

#define ETH_P_IP 0x0800
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ARPHRD_ETHER 1
#define PJ_SNAP_FIRST 64
#define NF_ACCEPT 1
#define AF_INET 2
#define TCPF_SYN 0x02
#define TCPF_ACK 0x10

char LICENSE[] SEC("license") = "GPL";

/* Written by the loader through the mmap'ed .bss: slots and the bitmask of active ones.
 * The loader clears a slot's bit before rewriting it, so a half-written slot is never used. */
struct pj_filter filters[PJ_MAX_FILTERS];
struct pj_prog progs[PJ_MAX_FILTERS][2]; /* by enum pj_prog_kind */
volatile __u32 active_mask;
volatile __u32 netns_mask; /* slots whose use_netns is set, so the map lookup is skipped when none */
volatile __u32 nslots;     /* highest active slot + 1, set by the loader with active_mask */
volatile __u32 snap_len;
/* bpf_ktime_get_ns (CLOCK_MONOTONIC) when the loader last gave each slot a filter: an skb traced before that
 * was traced for the slot's previous follower, whose bit must not follow it (its end may have been missed). */
volatile __u64 slot_epoch[PJ_MAX_FILTERS];   /* the most bytes any active slot's programs load (<= PJ_SNAP) */
/* Bytes in a CPU's ring that wake the loader early; set before load to a quarter of the ring. */
const volatile __u32 wake_bytes = 1 << 20;
/* Written by traced events on every CPU, so refreshed only when stale: a store per event would bounce
 * this cache line (and the filters read by every program run beside it) between CPUs. */
__u64 last_track;
/* In jiffies, which cost a load where a clock read costs a helper call on every untraced packet. The
 * loader sets them from the tick length before load (2 s and 100 ms; these defaults are for HZ=1000). */
const volatile __u64 track_window = 2000;
const volatile __u64 track_refresh = 100;
/* connect()'s syscall number here, set by the loader (the numbers differ between architectures). */
const volatile long nr_connect = -1;
/* Slots that want connect() rewrites reported; on_sys_enter is attached only while it is nonzero. */
volatile __u32 sock_mask;
/* jiffies of the last connect() recorded, so traced packets skip the map when none is recent. */
__u64 last_connect;

/* emitted / lost per CPU, summed by the loader: one shared atomic counter cost more than the event. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pj_counters);
} counters SEC(".maps");

/* One ring buffer per CPU: a shared one has a lock and a producer position that every CPU writes per
 * event, which cost more than everything else the probe does. The loader sizes the array to the CPU
 * count and each ring to share ~64 MB (~600k hops of slack for bursts), then creates and inserts them. */
struct ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ring);
} rings SEC(".maps");

/* netns inode -> mask of slots that allow it */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} netns_allow SEC(".maps");

/* Per traced skb: which slots it matched (so it stays traced after NAT rewrites its addresses) and
 * the last ingress device (to report netif_rx + netif_receive_skb for one arrival once). */
struct skb_state {
	__u64 since; /* bpf_ktime_get_ns when mask last gained a slot */
	__u64 ident; /* the packet's identity (pcapf.h): the skb at this address may be another one since */
	__u32 mask;
	__u32 last_ifindex;
	__u32 last_netns;
	__u8 last_dir;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct skb_state);
} skb_states SEC(".maps");

#include "pcapf.h"

/* The address a connect() in flight was given, by task (pid_tgid): a cgroup connect4 program rewrites
 * it inside the call, so it is read from user memory at syscall entry and compared with the socket's
 * destination when the socket's first traced packet leaves. */
struct connect_arg {
	__u8 sa[8]; /* sockaddr_in: family, port, address, as the caller wrote them */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct connect_arg);
} connects SEC(".maps");

/* Fills the L3/L4 fields from the skb. `l3_at_data`: on ingress, eth_type_trans has pulled the MAC
 * header so skb->data is the IP header, and network_header may still be stale.
 * Fields of kernel structs are read with plain loads: tp_btf and netfilter programs get BTF-typed skb
 * pointers, which the verifier turns into cheap faulting loads instead of bpf_probe_read_kernel calls.
 * Only packet bytes need the helper. Returns the MAC header offset (or ~0) for later. */
static __always_inline void parse(struct sk_buff *skb, struct pj_event *e, bool l3_at_data)
{
	unsigned char *l3;

	__be16 proto = skb->protocol;
	if (proto == bpf_htons(ETH_P_IPV6)) {
		parse6(skb, e, l3_at_data);
		return;
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		/* A tag still in the frame (one a packet socket wrote, or not yet pulled on arrival): the IP
		 * header follows it. */
		__u16 mac = skb->mac_header;
		__be16 inner;
		if (mac == (__u16)~0U || bpf_probe_read_kernel(&inner, 2, skb->head + mac + 16) ||
		    inner != bpf_htons(ETH_P_IP))
			return;
		l3 = skb->head + mac + 18;
	} else if (proto != bpf_htons(ETH_P_IP)) {
		return;
	} else if (l3_at_data) {
		l3 = skb->data;
	} else {
		__u16 nh = skb->network_header;
		if (nh == (__u16)~0U)
			return;
		l3 = skb->head + nh;
	}

	/* One read for the IP header and the first 20 bytes after it (the L4 header when there are no IP
	 * options, the common case): a helper call per hop saved on every packet, traced or not. */
	struct {
		struct iphdr ip;
		__u8 l4[20];
	} h;
	if (bpf_probe_read_kernel(&h, sizeof(h), l3)) {
		if (bpf_probe_read_kernel(&h.ip, sizeof(h.ip), l3))
			return;
	}
	if (h.ip.version != 4)
		return;
	e->has_ip = 1;
	e->family = 4;
	e->saddr = h.ip.saddr;
	e->daddr = h.ip.daddr;
	e->proto = h.ip.protocol;
	e->ttl = h.ip.ttl;
	e->ip_id = bpf_ntohs(h.ip.id);
	e->tot_len = bpf_ntohs(h.ip.tot_len);
	e->ip_opts = h.ip.ihl > 5;
	if (bpf_ntohs(h.ip.frag_off) & 0x1fff)
		return; /* not the first fragment: no L4 header */
	if (h.ip.ihl != 5) {
		/* The bytes after the fixed header are the options: keep their start (Cilium's DSR option is
		 * 8 bytes) before reading the L4 header past them. */
		__builtin_memcpy(e->raw, h.l4, sizeof(e->raw));
		if (bpf_probe_read_kernel(h.l4, sizeof(h.l4), l3 + h.ip.ihl * 4))
			return;
	}

	const __u8 *th = h.l4;
	if (h.ip.protocol == IPPROTO_TCP) {
		e->sport = (th[0] << 8) | th[1];
		e->dport = (th[2] << 8) | th[3];
		e->tcp_flags = th[13];
	} else if (h.ip.protocol == IPPROTO_UDP) {
		e->sport = (th[0] << 8) | th[1];
		e->dport = (th[2] << 8) | th[3];
	} else if (h.ip.protocol == IPPROTO_ICMP) {
		e->icmp_type = th[0];
		e->icmp_code = th[1];
		e->icmp_id = (th[4] << 8) | th[5];
		e->icmp_seq = (th[6] << 8) | th[7];
	}
}

static __always_inline __u32 netns_of(struct sk_buff *skb, struct net_device *dev, struct net *net)
{
	if (!net && dev)
		net = dev->nd_net.net;
	if (!net) {
		/* Freed after socket delivery: skb->dev is gone, the socket still knows its netns. */
		struct sock *sk = skb->sk;
		if (sk)
			net = sk->__sk_common.skc_net.net;
	}
	return net ? net->ns.inum : 0;
}

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

/* Runs the instruction at pc; false once the slot is done. */
static __always_inline bool exec_one(struct scratch *c)
{
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
		if (!exec_one(c))
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

/* The slots in `todo` whose program accepts this packet. */
static __always_inline __u32 match(struct sk_buff *skb, struct net_device *dev, bool l3_at_data, __u32 todo)
{
	__u32 zero = 0;
	struct scratch *c = bpf_map_lookup_elem(&scratches, &zero);
	if (!c || !snapshot(skb, dev, c, l3_at_data, snap_len))
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

/* The active slots this packet may match at all: those restricted to namespaces drop out here. */
static __always_inline __u32 netns_ok(__u32 active, __u32 netns)
{
	if (!(active & netns_mask))
		return active;
	__u32 *v = bpf_map_lookup_elem(&netns_allow, &netns);
	return (active & ~netns_mask) | (v ? *v & active & netns_mask : 0);
}

/* Writes one event to this CPU's ring and counts it. */
static __always_inline void emit(const struct pj_event *e, __u32 cpu)
{
	__u32 zero = 0;
	struct pj_counters *c = bpf_map_lookup_elem(&counters, &zero);
	void *ring = bpf_map_lookup_elem(&rings, &cpu);
	long err = -1;
	if (ring) {
		/* No wakeup per event: at a million hops a second the loader would be woken for nearly every
		 * one (the default wakes a consumer that has caught up, and a fast one always has). It drains
		 * on a short timer instead (loader.c, DRAIN_MS) and is woken early only when a ring fills past
		 * wake_bytes, so bursts cannot overflow it between ticks. */
		__u64 avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
		__u64 flags = avail < wake_bytes && avail + sizeof(*e) + 8 >= wake_bytes ? BPF_RB_FORCE_WAKEUP
											 : BPF_RB_NO_WAKEUP;
		err = bpf_ringbuf_output(ring, (void *)e, sizeof(*e), flags);
	}
	if (c) {
		if (err)
			c->lost++;
		else
			c->emitted++;
	}
}

/* A traced packet leaving a socket whose connect() is in flight in this task: when it is not going
 * where connect() was asked to go, a sock_connect event goes out first (event.h says how the socket's
 * destination tells a cgroup rewrite from an OUTPUT DNAT). The connect is forgotten either way, so
 * only its first packet pays for this. */
static __always_inline void report_rewrite(struct sk_buff *skb, struct pj_event *e, __u32 cpu, __u32 slots)
{
	__u64 key = bpf_get_current_pid_tgid();
	struct connect_arg *a = bpf_map_lookup_elem(&connects, &key);
	if (!a)
		return;
	struct connect_arg orig = *a;
	bpf_map_delete_elem(&connects, &key);
	struct sock *sk = skb->sk;
	if (!sk || sk->__sk_common.skc_family != AF_INET)
		return;
	__u32 sk_daddr = sk->__sk_common.skc_daddr;
	__u16 sk_dport = bpf_ntohs(sk->__sk_common.skc_dport);
	/* Leaving this socket (an early-demuxed arrival carries its socket too), and for TCP its first
	 * packet, the SYN: a softirq can run another socket's packet in this task's context. */
	if (e->saddr != sk->__sk_common.skc_rcv_saddr || e->sport != sk->__sk_common.skc_num)
		return;
	if (e->proto == IPPROTO_TCP && (e->tcp_flags & (TCPF_SYN | TCPF_ACK)) != TCPF_SYN)
		return;
	__u32 oaddr;
	__builtin_memcpy(&oaddr, orig.sa + 4, 4);
	bool as_asked = oaddr == sk_daddr && ((orig.sa[2] << 8) | orig.sa[3]) == sk_dport;
	if (as_asked && e->daddr == sk_daddr && e->dport == sk_dport)
		return;
	/* Sent as a copy of the packet's event: only to the slots that asked, with the caller's sockaddr. */
	__u8 hook = e->hook, saved[8];
	__u32 mask = e->mask, reason = e->reason;
	__u16 icmp_id = e->icmp_id;
	__builtin_memcpy(saved, e->raw, 8);
	e->hook = PJ_HOOK_SOCK_CONNECT;
	e->mask = slots;
	__builtin_memcpy(e->raw, orig.sa, 8);
	e->reason = sk_daddr;
	e->icmp_id = sk_dport;
	emit(e, cpu);
	e->hook = hook;
	e->mask = mask;
	e->reason = reason;
	e->icmp_id = icmp_id;
	__builtin_memcpy(e->raw, saved, 8);
}

/* The bits of a tracked skb's mask still meant for their slot's current follower. */
static __always_inline __u32 fresh_mask(const struct skb_state *st, __u32 active)
{
	__u32 m = st->mask & active;
	for (int i = 0; i < PJ_MAX_FILTERS; i++) {
		if (!(m >> i))
			break;
		if ((m & (1U << i)) && slot_epoch[i] > st->since)
			m &= ~(1U << i);
	}
	return m;
}

/* `tracked_only`: the hook can never be the first to see a packet, so only skbs already matched
 * upstream matter and untraced ones leave before their headers are read. */
static __always_inline int handle(struct sk_buff *skb, __u8 hook, __u8 dir, struct net_device *dev,
				  struct net *net, __u32 reason, __u64 location, __u8 nf_hook, bool tracked_only)
{
	__u32 active = active_mask;
	if (!active || !skb)
		return 0;
	__u64 now = bpf_jiffies64();
	/* Tracked skbs (NAT may have moved them out of the filter) live well under a second; skip the map
	 * when nothing was tracked lately, the steady state for untraced traffic. */
	bool recent = now - last_track < track_window;
	if (tracked_only && !recent)
		return 0;

	struct pj_event e = {};
	__u64 key = (__u64)skb;
	struct skb_state *st = NULL;
	__u32 m = 0;
	if (!dev)
		dev = skb->dev;
	if (tracked_only) {
		st = state_of(&key, skb, dev, dir == PJ_DIR_INGRESS);
		if (!st)
			return 0;
		m = fresh_mask(st, active);
		if (!m)
			return 0;
		parse(skb, &e, dir == PJ_DIR_INGRESS);
	} else {
		if (recent) {
			st = state_of(&key, skb, dev, dir == PJ_DIR_INGRESS);
			/* The second ingress tracepoint of one arrival leaves before reading any header. */
			if (st && dir == PJ_DIR_INGRESS && st->last_dir == PJ_DIR_INGRESS && dev &&
			    st->last_ifindex == dev->ifindex && st->last_netns == netns_of(skb, dev, net))
				return 0;
		}
		/* The filter programs, on a packet's first sighting: only slots that have not taken this skb yet
		 * run, and the headers are parsed only for a packet some slot takes. */
		__u32 todo = active;
		if (active & netns_mask) {
			e.netns = netns_of(skb, dev, net);
			todo = netns_ok(active, e.netns);
		}
		if (st)
			todo &= ~fresh_mask(st, active);
		if (todo)
			m = match(skb, dev, dir == PJ_DIR_INGRESS, todo);
		if (m && !recent)
			st = state_of(&key, skb, dev, dir == PJ_DIR_INGRESS);
		if (st)
			m |= fresh_mask(st, active);
		if (!m)
			return 0;
		parse(skb, &e, dir == PJ_DIR_INGRESS);
	}

	/* A traced packet: fill in the rest. */
	if (!e.netns)
		e.netns = netns_of(skb, dev, net);
	if (dev)
		e.ifindex = dev->ifindex;

	bool freed = hook == PJ_HOOK_KFREE || hook == PJ_HOOK_CONSUME;
	if (st && dir == PJ_DIR_INGRESS && st->last_dir == PJ_DIR_INGRESS && st->last_ifindex == e.ifindex &&
	    st->last_netns == e.netns)
		return 0; /* the same arrival seen by a second ingress tracepoint */
	if (freed) {
		bpf_map_delete_elem(&skb_states, &key);
	} else if (st) {
		if (m & ~st->mask) {
			st->since = bpf_ktime_get_ns();
			st->mask = m; /* stale bits dropped: m holds the fresh ones and the new */
		}
		if (dir != PJ_DIR_NONE) {
			st->last_dir = dir;
			st->last_ifindex = e.ifindex;
			st->last_netns = e.netns;
		}
	} else {
		struct skb_state ns = { .since = bpf_ktime_get_ns(), .ident = skb_ident(skb, dev, dir == PJ_DIR_INGRESS), .mask = m, .last_dir = dir, .last_ifindex = e.ifindex, .last_netns = e.netns };
		bpf_map_update_elem(&skb_states, &key, &ns, BPF_ANY);
	}
	if (!freed && now - last_track > track_refresh)
		last_track = now;

	__u16 mac = skb->mac_header;
	if (mac != (__u16)~0U) {
		__u8 macs[12];
		if (bpf_probe_read_kernel(macs, sizeof(macs), skb->head + mac) == 0) {
			__builtin_memcpy(e.dmac, macs, 6);
			__builtin_memcpy(e.smac, macs + 6, 6);
		}
	}
	e.hook = hook;
	e.dir = dir;
	e.nf_hook = nf_hook;
	e.reason = reason;
	e.location = location;
	e.mask = m;
	e.skb = key;
	e.ts_ns = bpf_ktime_get_ns();
	__u32 cpu = bpf_get_smp_processor_id();
	e.cpu = cpu;
	if (dev) /* a BTF pointer: plain loads, no helper call */
		__builtin_memcpy(e.ifname, dev->name, sizeof(e.ifname));
	if ((m & sock_mask) && now - last_connect < track_window && !freed)
		report_rewrite(skb, &e, cpu, m & sock_mask);
	emit(&e, cpu);
	return 0;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(on_dev_queue, struct sk_buff *skb)
{
	return handle(skb, PJ_HOOK_DEV_QUEUE, PJ_DIR_EGRESS, NULL, NULL, 0, 0, 0, false);
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(on_receive_skb, struct sk_buff *skb)
{
	return handle(skb, PJ_HOOK_RECEIVE_SKB, PJ_DIR_INGRESS, NULL, NULL, 0, 0, 0, false);
}

SEC("tp_btf/netif_rx")
int BPF_PROG(on_netif_rx, struct sk_buff *skb)
{
	/* netif_rx queues the skb for netif_receive_skb on the same device, which reads and matches the
	 * headers itself; a veth's or loopback's net_dev_queue has already matched it on the way in.
	 * So here only skbs traced already are reported (with the time they were queued) and untraced
	 * ones cost a look-up at most; a backlog drop in between is seen by kfree_skb. */
	return handle(skb, PJ_HOOK_NETIF_RX, PJ_DIR_INGRESS, NULL, NULL, 0, 0, 0, true);
}

SEC("tp_btf/napi_gro_receive_entry")
int BPF_PROG(on_gro, const struct sk_buff *skb)
{
	return handle((struct sk_buff *)skb, PJ_HOOK_GRO, PJ_DIR_INGRESS, NULL, NULL, 0, 0, 0, false);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(on_kfree, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return handle(skb, PJ_HOOK_KFREE, PJ_DIR_NONE, NULL, NULL, (__u32)reason, (__u64)location, 0, false);
}

SEC("tp_btf/consume_skb")
int BPF_PROG(on_consume, struct sk_buff *skb, void *location)
{
	/* A consumed skb ends a path some earlier hook already matched; untraced ones (most frees on the
	 * host) leave before their headers are read. Drops (kfree_skb) still match on their own, since a
	 * packet can be dropped before any other hook saw it. */
	return handle(skb, PJ_HOOK_CONSUME, PJ_DIR_NONE, NULL, NULL, 0, (__u64)location, 0, true);
}

/* connect(): what the caller asked for, before a cgroup connect4 program can change it. Attached by the
 * loader only while a follower wants rewrites (sock_mask), since raw_syscalls fires for every syscall. */
SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	if (id != nr_connect || !sock_mask)
		return 0;
	struct connect_arg a = {};
	const void *uaddr = (const void *)PT_REGS_PARM2_CORE(regs);
	__u16 family;
	if ((long)PT_REGS_PARM3_CORE(regs) < 8 || bpf_probe_read_user(a.sa, sizeof(a.sa), uaddr))
		return 0;
	__builtin_memcpy(&family, a.sa, 2); /* host order, like all of sa_family_t */
	if (family != AF_INET)
		return 0;
	__u64 key = bpf_get_current_pid_tgid();
	bpf_map_update_elem(&connects, &key, &a, BPF_ANY);
	last_connect = bpf_jiffies64();
	return 0;
}

/* Netfilter programs: the loader sets their type (libbpf 1.1 predates SEC("netfilter")) and links
 * them per namespace. They always accept; they only look. */
static __always_inline int nf_handle(struct bpf_nf_ctx *ctx, __u8 hook)
{
	const struct nf_hook_state *s = ctx->state;
	struct sk_buff *skb = ctx->skb;
	__u8 nfh = s->hook;
	/* The device the packet came in on for input hooks, the one it leaves by for output hooks. */
	struct net_device *dev = (nfh == 0 || nfh == 1) ? s->in : s->out;
	if (!dev)
		dev = s->in;
	/* Every packet meets a device hook before PRE_ROUTING, so only LOCAL_OUT (a locally generated
	 * packet, not yet queued to a device) can be a first sighting: elsewhere, untraced packets (the
	 * bulk of the traffic) pay for one timestamp read and leave. */
	handle(skb, hook, PJ_DIR_NONE, dev, s->net, 0, 0, nfh, nfh != NF_INET_LOCAL_OUT);
	return NF_ACCEPT;
}

SEC("pj_nf_nat")
int nf_nat(struct bpf_nf_ctx *ctx)
{
	return nf_handle(ctx, PJ_HOOK_NF_NAT);
}

SEC("pj_nf_pre_filter")
int nf_pre_filter(struct bpf_nf_ctx *ctx)
{
	return nf_handle(ctx, PJ_HOOK_NF_PRE_FILTER);
}

SEC("pj_nf_post_filter")
int nf_post_filter(struct bpf_nf_ctx *ctx)
{
	return nf_handle(ctx, PJ_HOOK_NF_POST_FILTER);
}
