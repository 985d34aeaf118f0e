/* The dsr scenario's maps (server/lab/scenarios/dsr.ts writes pj_dsr_svc and pj_dsr_backends with
 * `bpftool map update … key hex … value hex …`, so these layouts are part of its contract). Addresses are
 * byte arrays and ports host order, so that `bpftool map dump` shows a student [10,244,2,2] and 8080. */
#pragma once
#include "common.h"

/* A NodePort: any local address of the node, this port and protocol. */
struct dsr_svc_key {
	__u16 port;
	__u8 proto;
	__u8 pad;
};

/* The service's backends are pj_dsr_backends[first .. first+count). */
struct dsr_svc {
	__u16 first;
	__u16 count;
};

/* A backend pod (pj_dsr_backends' value), or the service address a reply is rewritten to (pj_dsr_rev_nat's). */
struct dsr_addr {
	__u8 addr[4];
	__u16 port;
	__u16 pad;
};

/* One direction of a flow as it arrives: client -> service (LB node), client -> backend (backend node). */
struct dsr_flow {
	__u8 saddr[4];
	__u8 daddr[4];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

#define DSR_MAX_BACKENDS 16
/* Cilium's DSR_IPV4_OPT_32: type 0x9a, length 8, in the top half of the first option word. */
#define DSR_IPV4_OPT_32 0x9a080000
#define DSR_OPT_LEN 8

static __always_inline void put_ip(__u8 *dst, __be32 addr)
{
	__builtin_memcpy(dst, &addr, 4);
}

static __always_inline __be32 get_ip(const __u8 *src)
{
	__be32 addr;
	__builtin_memcpy(&addr, src, 4);
	return addr;
}
