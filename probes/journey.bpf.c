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
volatile __u32 snap_len; /* the most bytes any active slot's programs load (<= PJ_SNAP) */
/* bpf_ktime_get_ns (CLOCK_MONOTONIC) when the loader last gave each slot a filter: an skb traced before that
 * was traced for the slot's previous follower, whose bit must not follow it (its end may have been missed). */
volatile __u64 slot_epoch[PJ_MAX_FILTERS];
/* Set by the loader before it sleeps with slots active and its rings empty: the next event wakes it
 * (and clears this), so an idle loader needs no tick. */
volatile __u32 loader_idle;
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
		 * on a short timer instead while events arrive (loader.c, DRAIN_MS), is woken by the first one
		 * after it went idle (loader_idle), and early when a ring fills past wake_bytes, so bursts
		 * cannot overflow it between ticks. */
		__u64 avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
		__u64 flags = avail < wake_bytes && avail + sizeof(*e) + 8 >= wake_bytes ? BPF_RB_FORCE_WAKEUP
											 : BPF_RB_NO_WAKEUP;
		if (loader_idle) {
			loader_idle = 0;
			flags = BPF_RB_FORCE_WAKEUP;
		}
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

/* The bits of a tracked skb's mask still meant for their slot's current follower. Global, so its loop
 * is verified once, not at each of handle()'s calls. */
__noinline __u32 fresh_mask(const struct skb_state *st, __u32 active)
{
	if (!st)
		return 0;
	__u32 m = st->mask & active;
	for (int i = 0; i < PJ_MAX_FILTERS; i++) {
		if (!(m >> i))
			break;
		if ((m & (1U << i)) && slot_epoch[i] > st->since)
			m &= ~(1U << i);
	}
	return m;
}

#include "flows.h"

/* `tracked_only`: the hook can never be the first to see a packet, so only skbs already matched
 * upstream matter and untraced ones leave before their headers are read. */
static __always_inline int handle(struct sk_buff *skb, __u8 hook, __u8 dir, struct net_device *dev,
				  struct net *net, __u32 reason, __u64 location, __u8 nf_hook, bool tracked_only)
{
	__u32 active = active_mask;
	if (!active || !skb)
		return 0;
	/* The flow view's slot matches nothing itself: it only marks the skbs it samples (flows.h). */
	__u32 matchable = active & ~flows_sample_bit;
	if (!matchable)
		tracked_only = true;
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
		__u32 todo = matchable;
		if (matchable & netns_mask) {
			e.netns = netns_of(skb, dev, net);
			todo = netns_ok(matchable, e.netns);
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
		struct skb_state ns = { .since = bpf_ktime_get_ns(),
					.ident = skb_ident(skb, dev, dir == PJ_DIR_INGRESS),
					.mask = m,
					.last_dir = dir,
					.last_ifindex = e.ifindex,
					.last_netns = e.netns };
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
	if (with_flows && flows_on)
		flows_account(skb, PJ_DIR_EGRESS, 0);
	return handle(skb, PJ_HOOK_DEV_QUEUE, PJ_DIR_EGRESS, NULL, NULL, 0, 0, 0, false);
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(on_receive_skb, struct sk_buff *skb)
{
	if (with_flows && flows_on)
		flows_account(skb, PJ_DIR_INGRESS, 0);
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
	if (with_flows && flows_on)
		flows_account(skb, PJ_DIR_NONE, (__u32)reason);
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
