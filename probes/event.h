/* The one definition of what the probe reports per hop, shared by journey.bpf.c and loader.c.
 * The loader prints each field as snake_case NDJSON; server/protocol/tracer.ts parses exactly that. */
#ifndef PJ_EVENT_H
#define PJ_EVENT_H

#define PJ_IFNAMSIZ 16
#define PJ_MAX_FILTERS 16

/* Where an event was seen. Kept in sync with `HOOKS` in loader.c (names printed as strings). */
enum pj_hook {
	PJ_HOOK_DEV_QUEUE = 1,       /* net:net_dev_queue, egress */
	PJ_HOOK_RECEIVE_SKB = 2,     /* net:netif_receive_skb, ingress */
	PJ_HOOK_NETIF_RX = 3,        /* net:netif_rx, ingress (veth, loopback, tunnels) */
	PJ_HOOK_GRO = 4,             /* net:napi_gro_receive_entry, ingress (NAPI drivers) */
	PJ_HOOK_KFREE = 5,           /* skb:kfree_skb, with reason */
	PJ_HOOK_CONSUME = 6,         /* skb:consume_skb, a normal end of life */
	PJ_HOOK_NF_NAT = 7,          /* netfilter link right after nat (dst -99 / src +101) */
	PJ_HOOK_NF_PRE_FILTER = 8,   /* netfilter link just before filter (-1) */
	PJ_HOOK_NF_POST_FILTER = 9,  /* netfilter link just after filter (+1): the packet was accepted */
};

enum pj_dir { PJ_DIR_NONE = 0, PJ_DIR_EGRESS = 1, PJ_DIR_INGRESS = 2 };

struct pj_event {
	__u64 ts_ns;          /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 skb;            /* skb address: stable along a veth/bridge path */
	__u64 location;       /* kfree/consume: kernel text address that freed the skb */
	__u32 netns;          /* netns inode */
	__u32 ifindex;
	__u32 mask;           /* bit i set: filter slot i matched */
	__u32 reason;         /* kfree_skb: enum skb_drop_reason value (named by the loader from BTF) */
	__u32 saddr;          /* network order */
	__u32 daddr;
	__u16 sport;          /* host order */
	__u16 dport;
	__u16 ip_id;          /* host order */
	__u16 tot_len;
	__u16 icmp_id;        /* host order */
	__u16 icmp_seq;
	__u8 hook;            /* enum pj_hook */
	__u8 dir;             /* enum pj_dir */
	__u8 proto;           /* IPPROTO_* */
	__u8 ttl;
	__u8 ip_opts;         /* 1 if ihl > 5 */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 nf_hook;         /* NF_INET_* for netfilter events */
	__u8 has_ip;          /* 0: not IPv4 (fields above are zero) */
	__u8 cpu;
	__u8 pad;
	__u8 smac[6];
	__u8 dmac[6];
	char ifname[PJ_IFNAMSIZ];
};

/* One follower's kernel-side filter. Zero means "any" for every field. */
struct pj_filter {
	__u32 addr_a;         /* network order; matches src or dst */
	__u32 addr_b;         /* network order; matches src or dst */
	__u16 port;           /* host order; matches sport or dport */
	__u16 icmp_id;        /* host order; ICMP echo id */
	__u8 proto;           /* IPPROTO_*; 0 = any */
	__u8 use_netns;       /* 1: only namespaces in the netns_allow map with this slot's bit */
	__u8 pad[2];
};

/* Per-CPU event counters (a PERCPU_ARRAY of one), summed by the loader. */
struct pj_counters {
	__u64 emitted;        /* written to the ring buffer */
	__u64 lost;           /* the ring buffer was full */
};

#endif
