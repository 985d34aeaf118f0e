/* The one definition of what the probe reports per hop, shared by journey.bpf.c and loader.c, and the
 * source of the server's tables: `make -C probes` runs build/event-ts (event-ts.c) to write
 * server/tracer/event-fields.ts and server/protocol/probe-names.ts from the lists below, and
 * server/tracer/probe-event.test.ts fails when the committed files differ. The loader sends events
 * packed as this struct; its ready record declares each field's offset and width (PJ_EVENT_FIELDS) and
 * the names the codes index, and server/tracer/ndjson.ts decodes by that declaration. */
#ifndef PJ_EVENT_H
#define PJ_EVENT_H

#define PJ_IFNAMSIZ 16
#define PJ_MAX_FILTERS 16

/* Where an event was seen: X(enum constant, code, name the loader and server use). */
#define PJ_HOOKS(X)                                                                                          \
	X(PJ_HOOK_DEV_QUEUE, 1, net_dev_queue)              /* net:net_dev_queue, egress */                \
	X(PJ_HOOK_RECEIVE_SKB, 2, netif_receive_skb)        /* net:netif_receive_skb, ingress */           \
	X(PJ_HOOK_NETIF_RX, 3, netif_rx)                    /* net:netif_rx, ingress (veth, loopback) */   \
	X(PJ_HOOK_GRO, 4, napi_gro_receive_entry)           /* net:napi_gro_receive_entry (NAPI drivers) */ \
	X(PJ_HOOK_KFREE, 5, kfree_skb)                      /* skb:kfree_skb, with reason */               \
	X(PJ_HOOK_CONSUME, 6, consume_skb)                  /* skb:consume_skb, a normal end of life */    \
	X(PJ_HOOK_NF_NAT, 7, nf_nat)                        /* netfilter link right after nat */           \
	X(PJ_HOOK_NF_PRE_FILTER, 8, nf_pre_filter)          /* netfilter link just before filter (-1) */   \
	X(PJ_HOOK_NF_POST_FILTER, 9, nf_post_filter)        /* just after filter (+1): accepted */         \
	X(PJ_HOOK_SOCK_CONNECT, 10, sock_connect)           /* connect() went elsewhere (see below) */
/* Codes from PJ_HOOK_NF_NAT to PJ_HOOK_NF_POST_FILTER are netfilter links (the event's nf_hook is then
 * set). PJ_HOOK_SOCK_CONNECT is not a sighting of the packet: it is sent just before the first traced
 * packet of a connect()ed socket when that packet is not going where connect() was asked to go. Its
 * address fields are the packet's; raw holds what the caller passed to connect(); reason and icmp_id
 * hold the socket's destination (address in network order, port in host order). The caller's address
 * differs from the socket's when a cgroup program rewrote connect(); the socket's from the packet's
 * when an iptables DNAT in OUTPUT ran before the probe's first netfilter hook. */
#define PJ_HOOK_FIRST_NF PJ_HOOK_NF_NAT
#define PJ_HOOK_LAST_NF PJ_HOOK_NF_POST_FILTER

/* Direction of a device event: X(enum constant, code, name). */
#define PJ_DIRS(X)                                                                                           \
	X(PJ_DIR_NONE, 0, none)                                                                              \
	X(PJ_DIR_EGRESS, 1, egress)                                                                          \
	X(PJ_DIR_INGRESS, 2, ingress)

/* Netfilter hooks by NF_INET_* value (the kernel's numbering): X(enum constant, code, name). */
#define PJ_NF_HOOKS(X)                                                                                       \
	X(PJ_NF_PRE_ROUTING, 0, PRE_ROUTING)                                                                 \
	X(PJ_NF_LOCAL_IN, 1, LOCAL_IN)                                                                       \
	X(PJ_NF_FORWARD, 2, FORWARD)                                                                         \
	X(PJ_NF_LOCAL_OUT, 3, LOCAL_OUT)                                                                     \
	X(PJ_NF_POST_ROUTING, 4, POST_ROUTING)

#define PJ_ENUM_ITEM(constant, code, name) constant = code,
enum pj_hook { PJ_HOOKS(PJ_ENUM_ITEM) };
enum pj_dir { PJ_DIRS(PJ_ENUM_ITEM) };
enum pj_nf_hook { PJ_NF_HOOKS(PJ_ENUM_ITEM) };
#undef PJ_ENUM_ITEM

/* struct pj_event, field by field: X(C type, name, array length or empty). Widths and offsets follow
 * from the C types, so the loader's layout record and the server's table cannot drift from the struct. */
#define PJ_EVENT_FIELDS(X)                                                                                   \
	X(__u64, ts_ns, )         /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */                                  \
	X(__u64, skb, )           /* skb address: stable along a veth/bridge path */                        \
	X(__u64, location, )      /* kfree/consume: kernel text address that freed the skb */               \
	X(__u32, netns, )         /* netns inode */                                                         \
	X(__u32, ifindex, )                                                                                  \
	X(__u32, mask, )          /* bit i set: filter slot i matched */                                    \
	X(__u32, reason, )        /* kfree_skb: enum skb_drop_reason value (named from BTF) */              \
	X(__u32, saddr, )         /* network order */                                                       \
	X(__u32, daddr, )                                                                                    \
	X(__u32, flow_label, )    /* IPv6: the 20-bit flow label, host order */                             \
	X(__u16, sport, )         /* host order */                                                          \
	X(__u16, dport, )                                                                                    \
	X(__u16, ip_id, )         /* host order */                                                          \
	X(__u16, tot_len, )                                                                                  \
	X(__u16, icmp_id, )       /* host order */                                                          \
	X(__u16, icmp_seq, )                                                                                 \
	X(__u8, hook, )           /* enum pj_hook */                                                        \
	X(__u8, dir, )            /* enum pj_dir */                                                         \
	X(__u8, proto, )          /* IPPROTO_* */                                                           \
	X(__u8, ttl, )            /* IPv6: the hop limit */                                                 \
	X(__u8, ip_opts, )        /* 1 if ihl > 5 */                                                        \
	X(__u8, tcp_flags, )                                                                                 \
	X(__u8, icmp_type, )                                                                                 \
	X(__u8, icmp_code, )                                                                                 \
	X(__u8, nf_hook, )        /* enum pj_nf_hook, for netfilter events */                               \
	X(__u8, has_ip, )         /* 0: not IP (fields above are zero); 1: IPv4 or IPv6 (see family) */     \
	X(__u8, cpu, )                                                                                       \
	X(__u8, family, )         /* 4 or 6 with has_ip: IPv6 has saddr/daddr zero and saddr6/daddr6 set */ \
	X(__u8, ext6, )           /* IPv6 extension headers walked: PJ_EXT6_* bits (parse6.h) */            \
	X(__u8, smac, [6])                                                                                   \
	X(__u8, dmac, [6])                                                                                   \
	X(__u8, raw, [8])         /* ip_opts: the first 8 option bytes; sock_connect: the sockaddr_in's */  \
	                          /* first 8 bytes as the caller wrote them (family, port, address) */      \
	X(__u8, saddr6, [16])     /* IPv6 (family 6): network order */                                      \
	X(__u8, daddr6, [16])                                                                                \
	X(__u8, dsr6, [18])       /* PJ_EXT6_DSR: Cilium's DSR option 0x1b, address then port (network order) */ \
	X(char, ifname, [PJ_IFNAMSIZ])

#define PJ_FIELD_DECL(type, name, dim) type name dim;
struct pj_event { PJ_EVENT_FIELDS(PJ_FIELD_DECL) };
#undef PJ_FIELD_DECL

/* A follower's filter is a classic BPF program (struct sock_filter's layout), compiled from a
 * pcap-filter expression by libpcap (the server runs `tcpdump -ddd`), run by the probe's interpreter on
 * the first PJ_SNAP bytes of a packet not traced yet. Each slot has two: one for packets with a MAC
 * header (DLT_EN10MB) and one from the IP header (DLT_RAW), as pwru and Retis do. */
#define PJ_MAX_INSNS 512
#define PJ_SNAP 256
enum pj_prog_kind { PJ_PROG_L2 = 0, PJ_PROG_L3 = 1 };

struct pj_insn {
	__u16 code;
	__u8 jt;
	__u8 jf;
	__u32 k;
};

struct pj_prog {
	__u32 len;            /* 0: matches nothing (e.g. an L2-only expression has no L3 program) */
	__u32 pad;
	struct pj_insn insns[PJ_MAX_INSNS];
};

/* One follower's kernel-side filter, beside its programs: with its prefilter, a necessary condition on an
 * IPv4 header the server derived from the programs (server/tracer/pcap-prefilter.ts), checked on the
 * same bytes before they run. Zero means "any" for each of its fields. */
struct pj_filter {
	__u32 snap;           /* bytes its programs may load (<= PJ_SNAP), so short filters read less */
	__u32 addr_a;         /* network order; the source or the destination */
	__u32 addr_b;         /* network order; the source or the destination */
	__u16 port;           /* host order; the source or destination port (the 2 bytes at the L4 header's 0 or 2) */
	__u16 icmp_id;        /* host order; the 2 bytes at the L4 header's 4 */
	__u8 proto;           /* IPPROTO_* */
	__u8 no_ipv4;         /* 1: no IPv4 packet matches */
	__u8 pre;             /* 1: some prefilter field is set */
	__u8 use_netns;       /* 1: only namespaces in the netns_allow map with this slot's bit */
	__u8 sock;            /* 1: report a connect() whose first packet goes elsewhere (PJ_HOOK_SOCK_CONNECT) */
	__u8 pad[3];
};

/* Per-CPU event counters (a PERCPU_ARRAY of one), summed by the loader. */
struct pj_counters {
	__u64 emitted;        /* written to the ring buffer */
	__u64 lost;           /* the ring buffer was full */
};

#endif
