/* sock-lb's maps (seed 004): the layouts server/lab/scenarios/sock-lb-maps.ts writes byte for byte.
 * Addresses are byte arrays and ports are in host order, so `bpftool map dump` reads 10.96.0.10 as
 * [10,96,0,10] and port 80 as 80, not as one big integer. */
#pragma once

#define SOCK_LB_MAX_BACKENDS 64

/* Service map: VIP:port/proto -> how many backends and where their slots are. */
struct sock_lb_svc_key {
	__u8 vip[4];
	__u16 port;
	__u8 proto; /* 6 tcp, 17 udp */
	__u8 pad;
};

struct sock_lb_svc {
	__u32 id;	/* the backend map's key.service */
	__u32 backends; /* slots 0 .. backends-1 */
	char name[16];	/* "default/echo" */
};

/* Backend map: (service id, slot) -> pod ip:port. */
struct sock_lb_backend_key {
	__u32 service;
	__u32 slot;
};

struct sock_lb_backend {
	__u8 ip[4];
	__u16 port;
	char pod[10];
};

/* The lab's network namespaces: only sockets in these are rewritten. */
struct sock_lb_netns {
	char name[16];
};

/* What connect4/sendmsg4 chose, per socket, so getpeername4/recvmsg4 can show the VIP again. */
struct sock_lb_revnat_key {
	__u64 socket;
	__u8 backend_ip[4];
	__u16 backend_port;
	__u16 pad;
};

struct sock_lb_revnat {
	__u8 vip[4];
	__u16 port;
	__u16 pad;
};
