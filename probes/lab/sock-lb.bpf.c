/* sock-lb (seed 004): the echo ClusterIP implemented at the socket, with no iptables. Attached to the
 * cgroup v2 root, so these run for every socket on the machine: each first checks that the socket's
 * network namespace is one of the lab's (pj_sock_netns, filled by the server at `lab up`) and leaves
 * everything else untouched.
 *   connect4     TCP connect / UDP connect to VIP:port -> rewrite the destination to a backend
 *   sendmsg4     UDP sendto(VIP:port) on an unconnected socket -> the same, per datagram
 *   recvmsg4     UDP recvfrom: a backend's address is shown as the VIP again
 *   getpeername4 getpeername() on a rewritten socket shows the VIP, as if nothing had happened */
#include "common.h"
#include "sock-lb.h"

#define AF_INET 2

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct sock_lb_svc_key);
	__type(value, struct sock_lb_svc);
} pj_sock_svc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct sock_lb_backend_key);
	__type(value, struct sock_lb_backend);
} pj_sock_backend SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64); /* netns cookie, as SO_NETNS_COOKIE and bpf_get_netns_cookie() give it */
	__type(value, struct sock_lb_netns);
} pj_sock_netns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sock_lb_revnat_key);
	__type(value, struct sock_lb_revnat);
} pj_sock_revnat SEC(".maps");

static __always_inline int in_lab(void *ctx)
{
	__u64 cookie = bpf_get_netns_cookie(ctx);

	return bpf_map_lookup_elem(&pj_sock_netns, &cookie) != NULL;
}

/* Rewrites ctx's destination if it is a service; `pick` chooses among its backends. */
static __always_inline void translate(struct bpf_sock_addr *ctx, __u32 pick)
{
	struct sock_lb_svc_key key = {};
	struct sock_lb_backend_key bkey = {};
	struct sock_lb_revnat_key rkey = {};
	struct sock_lb_revnat rval = {};
	struct sock_lb_backend *be;
	struct sock_lb_svc *svc;
	__u32 ip = ctx->user_ip4;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);

	if (ctx->user_family != AF_INET || !in_lab(ctx))
		return;
	__builtin_memcpy(key.vip, &ip, 4);
	key.port = port;
	key.proto = (__u8)ctx->protocol;
	svc = bpf_map_lookup_elem(&pj_sock_svc, &key);
	if (!svc || svc->backends == 0 || svc->backends > SOCK_LB_MAX_BACKENDS)
		return;
	bkey.service = svc->id;
	bkey.slot = pick % svc->backends;
	be = bpf_map_lookup_elem(&pj_sock_backend, &bkey);
	if (!be)
		return;

	rkey.socket = bpf_get_socket_cookie(ctx);
	__builtin_memcpy(rkey.backend_ip, be->ip, 4);
	rkey.backend_port = be->port;
	__builtin_memcpy(rval.vip, key.vip, 4);
	rval.port = port;
	bpf_map_update_elem(&pj_sock_revnat, &rkey, &rval, BPF_ANY);

	__builtin_memcpy(&ip, be->ip, 4);
	ctx->user_ip4 = ip;
	ctx->user_port = bpf_htons(be->port);
}

/* The reverse: a backend's address on a socket we rewrote is shown as the service's. */
static __always_inline void untranslate(struct bpf_sock_addr *ctx)
{
	struct sock_lb_revnat_key rkey = {};
	struct sock_lb_revnat *rev;
	__u32 ip = ctx->user_ip4;

	if (ctx->user_family != AF_INET || !in_lab(ctx))
		return;
	rkey.socket = bpf_get_socket_cookie(ctx);
	__builtin_memcpy(rkey.backend_ip, &ip, 4);
	rkey.backend_port = bpf_ntohs((__u16)ctx->user_port);
	rev = bpf_map_lookup_elem(&pj_sock_revnat, &rkey);
	if (!rev)
		return;
	__builtin_memcpy(&ip, rev->vip, 4);
	ctx->user_ip4 = ip;
	ctx->user_port = bpf_htons(rev->port);
}

SEC("cgroup/connect4")
int sock_lb_connect(struct bpf_sock_addr *ctx)
{
	/* A new connection: any backend. */
	translate(ctx, bpf_get_prandom_u32());
	return 1;
}

SEC("cgroup/sendmsg4")
int sock_lb_sendmsg(struct bpf_sock_addr *ctx)
{
	/* Per datagram, but keyed by the socket so one socket keeps talking to one backend. */
	translate(ctx, (__u32)bpf_get_socket_cookie(ctx));
	return 1;
}

SEC("cgroup/recvmsg4")
int sock_lb_recvmsg(struct bpf_sock_addr *ctx)
{
	untranslate(ctx);
	return 1;
}

SEC("cgroup/getpeername4")
int sock_lb_getpeer(struct bpf_sock_addr *ctx)
{
	untranslate(ctx);
	return 1;
}
